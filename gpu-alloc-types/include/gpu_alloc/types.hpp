// The gpu-alloc-types contract in one include.
#pragma once

#include "types/device.hpp"
#include "types/dyn_device.hpp"
#include "types/errors.hpp"
#include "types/flags.hpp"
#include "types/properties.hpp"
#include "types/request.hpp"
#include "types/result.hpp"
