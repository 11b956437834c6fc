// The request vocabulary lives in the types package; this header keeps the
// core's include path working.
#pragma once

#include <gpu_alloc/types/request.hpp>
