# Driver of one packaging test, run with cmake -P:
#   -DMODE=find_package|subdirectory -DSOURCE_DIR=<gpu_alloc source tree>
#   -DWORK_DIR=<scratch dir> -DCXX=<compiler> [-DGENERATOR=<generator>]
# find_package: configures a fresh build of the source tree with tests,
# benches and tools off, installs it into WORK_DIR/prefix, then builds the
# consumer against that prefix. subdirectory: builds the consumer that adds the
# source tree with add_subdirectory. Either way the consumer must then run and
# exit 0. Any failing step fails the test, with that step's output.
cmake_minimum_required(VERSION 3.25)
foreach(var MODE SOURCE_DIR WORK_DIR CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
set(here ${CMAKE_CURRENT_LIST_DIR})
set(generator_args)
if(GENERATOR)
  set(generator_args -G ${GENERATOR})
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging (${MODE}): ${name} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${name}: ok")
endfunction()

# Common to every configure: the same compiler, a quick unoptimized build, and
# no Vulkan adapter (it needs the Vulkan SDK, which a consumer of the core may lack).
set(common ${generator_args} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Debug -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON)

if(MODE STREQUAL "find_package")
  set(prefix ${WORK_DIR}/prefix)
  step("configure gpu_alloc" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/gpu_alloc-build ${common}
       -DGPU_ALLOC_BUILD_TESTS=OFF -DGPU_ALLOC_BUILD_BENCHES=OFF -DGPU_ALLOC_BUILD_TOOLS=OFF -DGPU_ALLOC_INSTALL=ON
       -DCMAKE_INSTALL_PREFIX=${prefix})
  step("build gpu_alloc" ${CMAKE_COMMAND} --build ${WORK_DIR}/gpu_alloc-build --parallel 2)
  step("install gpu_alloc" ${CMAKE_COMMAND} --install ${WORK_DIR}/gpu_alloc-build)
  if(NOT EXISTS ${prefix}/include/gpu_alloc/gpu_allocator.hpp OR NOT EXISTS ${prefix}/include/gpu_alloc/types.hpp)
    message(FATAL_ERROR "packaging (find_package): headers missing from the install prefix")
  endif()
  step("configure consumer" ${CMAKE_COMMAND} -S ${here}/find_package_consumer -B ${WORK_DIR}/consumer-build ${common}
       -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
elseif(MODE STREQUAL "subdirectory")
  step("configure consumer" ${CMAKE_COMMAND} -S ${here}/subdirectory_consumer -B ${WORK_DIR}/consumer-build ${common}
       -DGPU_ALLOC_SOURCE_DIR=${SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()
step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer-build --parallel 2)
step("run consumer" ${WORK_DIR}/consumer-build/consumer)
