# Driver of one packaging test, run with cmake -P:
#   cmake -DMODE=<mode> -DSOURCE_DIR=<gpu_alloc source tree> -DWORK_DIR=<scratch dir>
#         -DCXX=<compiler> -DVERSION=<gpu_alloc's version> [-DGENERATOR=<generator>]
#         [-DMAKE_PROGRAM=<make or ninja>] [-DPREFIX=<install prefix>] [-DWITH_VULKAN=ON]
#         [-DPKG_CONFIG=<pkg-config>] -P run_consumer.cmake
# Every configure uses the same compiler and a quick unoptimized build (except
# where the build type itself is under test). Any failing step fails the test,
# with that step's output; a step expected to fail must fail with the expected
# message. The modes:
#   install_full     configure the tree (tests, benches, tools off; adapters AUTO),
#                    build, install into PREFIX; check the installed files
#   install_minimal  the same with every adapter and the profile loader OFF;
#                    check that none of their headers or libraries is installed
#   top_level        configure the tree on its own: the default build type
#                    is RelWithDebInfo, an explicit one stands, nothing forced
#   find_package     find_package(gpu_alloc <VERSION> EXACT CONFIG REQUIRED)
#                    against PREFIX (every component); build, run
#   components       COMPONENTS core mock, with Vulkan hidden (not needed);
#                    with WITH_VULKAN also COMPONENTS core vulkan vulkan_helpers
#   unknown_component  COMPONENTS core no_such_component: configure must fail
#   missing_component  against the minimal PREFIX: COMPONENTS core vulkan must
#                    fail (not installed); OPTIONAL_COMPONENTS vulkan must not
#   subdirectory     add_subdirectory() of the tree, no build type set
#   fetchcontent     FetchContent_Declare(SOURCE_DIR the tree) + MakeAvailable
#   vulkan_required  as a subproject, GPU_ALLOC_VULKAN=ON with Vulkan hidden
#                    must stop the configure; AUTO must skip it with a message
#   d3d12_required   the same for GPU_ALLOC_D3D12=ON with vkd3d hidden
#   pkgconfig        compile and run a program with
#                    pkg-config --cflags --libs gpu_alloc (PREFIX)
cmake_minimum_required(VERSION 3.25)
foreach(var MODE SOURCE_DIR WORK_DIR CXX VERSION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
  endif()
endforeach()
set(here ${CMAKE_CURRENT_LIST_DIR})
# The build type is under test: none from the environment (CMake reads this
# variable as a default).
unset(ENV{CMAKE_BUILD_TYPE})
set(tool_args -DCMAKE_CXX_COMPILER=${CXX})
if(GENERATOR)
  list(PREPEND tool_args -G ${GENERATOR})
endif()
if(MAKE_PROGRAM)
  list(APPEND tool_args -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
set(common ${tool_args} -DCMAKE_BUILD_TYPE=Debug)
# The libraries only, when the tree itself is configured.
set(libraries_only -DGPU_ALLOC_BUILD_TESTS=OFF -DGPU_ALLOC_BUILD_BENCHES=OFF -DGPU_ALLOC_BUILD_TOOLS=OFF)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# step(<name> <command>...): must succeed.
function(step name)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "packaging (${MODE}): ${name} failed (${rc}):\n${out}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
  message(STATUS "${name}: ok")
endfunction()

# failing_step(<name> <regex> <command>...): must fail, with output matching <regex>.
function(failing_step name regex)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0)
    message(FATAL_ERROR "packaging (${MODE}): ${name} succeeded, but it must fail:\n${out}")
  endif()
  # The message may be wrapped over several lines by CMake.
  string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}")
  if(NOT flat MATCHES "${regex}")
    message(FATAL_ERROR "packaging (${MODE}): ${name} failed, but without the expected message "
                        "'${regex}':\n${out}")
  endif()
  message(STATUS "${name}: failed as expected")
endfunction()

# expect(<if() condition as a list> <message>): fails the test unless the condition holds.
function(expect condition message)
  if(${condition})
  else()
    message(FATAL_ERROR "packaging (${MODE}): ${message}")
  endif()
endfunction()

# build_and_run(<build dir>): builds a configured consumer and runs the
# programs it defined.
function(build_and_run dir)
  step("build consumer" ${CMAKE_COMMAND} --build ${dir} --parallel 2)
  set(ran 0)
  foreach(program consumer profile_consumer vulkan_consumer version_consumer)
    if(EXISTS ${dir}/${program})
      step("run ${program}" ${dir}/${program})
      math(EXPR ran "${ran} + 1")
    endif()
  endforeach()
  if(ran EQUAL 0)
    message(FATAL_ERROR "packaging (${MODE}): the consumer built no program to run")
  endif()
endfunction()

# check_installed_tree(): each installed component comes with its headers
# and the others' headers are absent.
function(check_installed_tree)
  set(cmake_dir ${PREFIX}/lib/cmake/gpu_alloc)
  foreach(file include/gpu_alloc/gpu_allocator.hpp include/gpu_alloc/types.hpp include/gpu_alloc/version.hpp
               include/gpu_alloc/mock/mock_device.hpp lib/pkgconfig/gpu_alloc.pc
               share/gpu_alloc/profiles/nvidia-h100-vulkan.json
               lib/cmake/gpu_alloc/gpu_alloc-config.cmake lib/cmake/gpu_alloc/gpu_alloc-config-version.cmake)
    expect("EXISTS;${PREFIX}/${file}" "${file} is not installed")
  endforeach()
  file(STRINGS ${PREFIX}/include/gpu_alloc/version.hpp version_line REGEX "define GPU_ALLOC_VERSION_STRING")
  expect("version_line;MATCHES;\"${VERSION}\"" "installed version.hpp does not say ${VERSION}: ${version_line}")
  foreach(component_folder vulkan:vulkan d3d12:d3d12 metal:metal mock:mock types:types)
    string(REPLACE ":" ";" component_folder ${component_folder})
    list(GET component_folder 0 component)
    list(GET component_folder 1 folder)
    if(EXISTS ${cmake_dir}/gpu_alloc-${component}-targets.cmake)
      expect("IS_DIRECTORY;${PREFIX}/include/gpu_alloc/${folder}" "component ${component} installed without its headers")
    else()
      expect("NOT;EXISTS;${PREFIX}/include/gpu_alloc/${folder}"
             "include/gpu_alloc/${folder} installed, but component ${component} was not built")
    endif()
  endforeach()
  if(EXISTS ${cmake_dir}/gpu_alloc-c-targets.cmake)
    expect("EXISTS;${PREFIX}/lib/pkgconfig/gpu_alloc_c.pc" "the C library is installed without gpu_alloc_c.pc")
  else()
    expect("NOT;EXISTS;${PREFIX}/lib/pkgconfig/gpu_alloc_c.pc" "gpu_alloc_c.pc installed without the C library")
  endif()
  file(GLOB source_leftovers ${PREFIX}/include/gpu_alloc/*.in)
  expect("NOT;source_leftovers" "templates installed: ${source_leftovers}")
endfunction()

if(MODE MATCHES "^install_(full|minimal)$")
  expect("DEFINED;PREFIX" "-DPREFIX=... is required")
  file(REMOVE_RECURSE ${PREFIX})
  set(variant_args "")
  if(MODE STREQUAL "install_minimal")
    set(variant_args -DGPU_ALLOC_VULKAN=OFF -DGPU_ALLOC_D3D12=OFF -DGPU_ALLOC_METAL=OFF -DGPU_ALLOC_PROFILE=OFF)
  endif()
  step("configure gpu_alloc" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/gpu_alloc-build ${common}
       ${libraries_only} ${variant_args} -DGPU_ALLOC_INSTALL=ON -DCMAKE_INSTALL_PREFIX=${PREFIX}
       -DCMAKE_INSTALL_LIBDIR=lib)
  step("build gpu_alloc" ${CMAKE_COMMAND} --build ${WORK_DIR}/gpu_alloc-build --parallel 2)
  step("install gpu_alloc" ${CMAKE_COMMAND} --install ${WORK_DIR}/gpu_alloc-build)
  check_installed_tree()
  if(MODE STREQUAL "install_minimal")
    foreach(absent include/gpu_alloc/vulkan include/gpu_alloc/d3d12 include/gpu_alloc/metal
                   lib/libgpu_alloc_profile.a lib/cmake/gpu_alloc/gpu_alloc-profile-targets.cmake
                   lib/cmake/gpu_alloc/gpu_alloc-vulkan-targets.cmake)
      expect("NOT;EXISTS;${PREFIX}/${absent}" "${absent} installed by a build without it")
    endforeach()
  elseif(WITH_VULKAN)
    expect("EXISTS;${PREFIX}/include/gpu_alloc/vulkan/adapter.hpp" "the Vulkan adapter was not installed")
  endif()

elseif(MODE STREQUAL "top_level")
  set(build ${WORK_DIR}/gpu_alloc-build)
  step("configure gpu_alloc, no build type" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build} ${tool_args} ${libraries_only})
  file(STRINGS ${build}/CMakeCache.txt build_type REGEX "^CMAKE_BUILD_TYPE:")
  expect("build_type;STREQUAL;CMAKE_BUILD_TYPE:STRING=RelWithDebInfo"
         "top level without a build type: expected RelWithDebInfo, got '${build_type}'")
  file(STRINGS ${build}/CMakeCache.txt vulkan_option REGEX "^GPU_ALLOC_VULKAN:")
  expect("vulkan_option;STREQUAL;GPU_ALLOC_VULKAN:STRING=AUTO" "top level: GPU_ALLOC_VULKAN is '${vulkan_option}', not AUTO")
  file(STRINGS ${build}/CMakeCache.txt install_option REGEX "^GPU_ALLOC_INSTALL:")
  expect("install_option;STREQUAL;GPU_ALLOC_INSTALL:BOOL=ON" "top level: GPU_ALLOC_INSTALL is '${install_option}', not ON")
  step("reconfigure with -DCMAKE_BUILD_TYPE=Release" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build} -DCMAKE_BUILD_TYPE=Release)
  file(STRINGS ${build}/CMakeCache.txt build_type REGEX "^CMAKE_BUILD_TYPE:")
  expect("build_type;STREQUAL;CMAKE_BUILD_TYPE:STRING=Release" "an explicit build type was overridden: '${build_type}'")
  step("configure gpu_alloc, empty build type" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/empty-build
       ${tool_args} ${libraries_only} -DCMAKE_BUILD_TYPE=)
  file(STRINGS ${WORK_DIR}/empty-build/CMakeCache.txt build_type REGEX "^CMAKE_BUILD_TYPE:")
  expect("build_type;MATCHES;^CMAKE_BUILD_TYPE:[A-Z]+=$" "an explicitly empty build type was overridden: '${build_type}'")

elseif(MODE STREQUAL "find_package")
  step("configure consumer" ${CMAKE_COMMAND} -S ${here}/find_package_consumer -B ${WORK_DIR}/consumer-build ${common}
       -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DEXPECTED_PREFIX=${PREFIX}
       -DEXPECTED_VERSION=${VERSION})
  build_and_run(${WORK_DIR}/consumer-build)

elseif(MODE STREQUAL "components")
  step("configure consumer: COMPONENTS core mock, Vulkan hidden" ${CMAKE_COMMAND} -S ${here}/components_consumer
       -B ${WORK_DIR}/core-build ${common} -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
       -DCASE=core -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON)
  build_and_run(${WORK_DIR}/core-build)
  if(WITH_VULKAN)
    step("configure consumer: COMPONENTS core vulkan vulkan_helpers" ${CMAKE_COMMAND} -S ${here}/components_consumer
         -B ${WORK_DIR}/vulkan-build ${common} -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
         -DCASE=vulkan)
    build_and_run(${WORK_DIR}/vulkan-build)
  endif()

elseif(MODE STREQUAL "unknown_component")
  failing_step("configure consumer: COMPONENTS core no_such_component"
    "unknown component 'no_such_component' \\(gpu_alloc's components are: types, core,"
    ${CMAKE_COMMAND} -S ${here}/components_consumer -B ${WORK_DIR}/consumer-build ${common}
    -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCASE=unknown)

elseif(MODE STREQUAL "missing_component")
  failing_step("configure consumer: COMPONENTS core vulkan (not installed)"
    "component 'vulkan' is not installed in .*this gpu_alloc was built without it"
    ${CMAKE_COMMAND} -S ${here}/components_consumer -B ${WORK_DIR}/required-build ${common}
    -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCASE=vulkan)
  step("configure consumer: COMPONENTS core OPTIONAL_COMPONENTS vulkan d3d12" ${CMAKE_COMMAND}
       -S ${here}/components_consumer -B ${WORK_DIR}/optional-build ${common}
       -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCASE=optional)
  build_and_run(${WORK_DIR}/optional-build)

elseif(MODE STREQUAL "subdirectory")
  # No build type: the subproject must leave the consumer's (empty) one alone.
  step("configure consumer" ${CMAKE_COMMAND} -S ${here}/subdirectory_consumer -B ${WORK_DIR}/consumer-build
       ${tool_args} -DGPU_ALLOC_SOURCE_DIR=${SOURCE_DIR})
  file(STRINGS ${WORK_DIR}/consumer-build/CMakeCache.txt build_type REGEX "^CMAKE_BUILD_TYPE:")
  expect("build_type;MATCHES;^CMAKE_BUILD_TYPE:[A-Z]+=$" "the consumer's cache has a build type: '${build_type}'")
  build_and_run(${WORK_DIR}/consumer-build)

elseif(MODE STREQUAL "fetchcontent")
  step("configure consumer" ${CMAKE_COMMAND} -S ${here}/fetchcontent_consumer -B ${WORK_DIR}/consumer-build ${common}
       -DGPU_ALLOC_SOURCE_DIR=${SOURCE_DIR} -DWITH_VULKAN=${WITH_VULKAN} -DFETCHCONTENT_FULLY_DISCONNECTED=ON)
  build_and_run(${WORK_DIR}/consumer-build)

elseif(MODE STREQUAL "vulkan_required")
  failing_step("configure consumer: GPU_ALLOC_VULKAN=ON, Vulkan hidden"
    "GPU_ALLOC_VULKAN=ON, but gpu_alloc::vulkan cannot be built: Vulkan was not found"
    ${CMAKE_COMMAND} -S ${here}/subdirectory_consumer -B ${WORK_DIR}/on-build ${tool_args}
    -DGPU_ALLOC_SOURCE_DIR=${SOURCE_DIR} -DGPU_ALLOC_VULKAN=ON -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON)
  step("configure consumer: GPU_ALLOC_VULKAN=AUTO, Vulkan hidden" ${CMAKE_COMMAND} -S ${here}/subdirectory_consumer
       -B ${WORK_DIR}/auto-build ${tool_args} -DGPU_ALLOC_SOURCE_DIR=${SOURCE_DIR} -DGPU_ALLOC_VULKAN=AUTO
       -DCMAKE_DISABLE_FIND_PACKAGE_Vulkan=ON)
  expect("step_output;MATCHES;gpu_alloc::vulkan: skipped, Vulkan was not found"
         "AUTO without Vulkan did not say that the adapter is skipped:\n${step_output}")

elseif(MODE STREQUAL "d3d12_required")
  # An empty pkg-config search path hides vkd3d.
  file(MAKE_DIRECTORY ${WORK_DIR}/no-pkgconfig)
  failing_step("configure consumer: GPU_ALLOC_D3D12=ON, vkd3d hidden"
    "GPU_ALLOC_D3D12=ON, but gpu_alloc::d3d12 cannot be built"
    ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${WORK_DIR}/no-pkgconfig PKG_CONFIG_PATH=
    ${CMAKE_COMMAND} -S ${here}/subdirectory_consumer -B ${WORK_DIR}/on-build ${tool_args}
    -DGPU_ALLOC_SOURCE_DIR=${SOURCE_DIR} -DGPU_ALLOC_D3D12=ON)

elseif(MODE STREQUAL "pkgconfig")
  expect("DEFINED;PKG_CONFIG" "-DPKG_CONFIG=... is required")
  # Only the prefix's .pc files.
  set(pkg_env ${CMAKE_COMMAND} -E env PKG_CONFIG_LIBDIR=${PREFIX}/lib/pkgconfig PKG_CONFIG_PATH=)
  step("pkg-config --modversion gpu_alloc" ${pkg_env} ${PKG_CONFIG} --modversion gpu_alloc)
  string(STRIP "${step_output}" pc_version)
  expect("pc_version;STREQUAL;${VERSION}" "gpu_alloc.pc says version '${pc_version}', not ${VERSION}")
  step("pkg-config --variable=profiledir gpu_alloc" ${pkg_env} ${PKG_CONFIG} --variable=profiledir gpu_alloc)
  string(STRIP "${step_output}" profiledir)
  expect("EXISTS;${profiledir}/nvidia-h100-vulkan.json" "profiledir '${profiledir}' holds no profiles")
  step("pkg-config --cflags --libs gpu_alloc" ${pkg_env} ${PKG_CONFIG} --cflags --libs gpu_alloc)
  string(STRIP "${step_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  step("compile with the pkg-config flags" ${CXX} -std=c++20 ${here}/consumer/version_main.cpp ${flags}
       -o ${WORK_DIR}/version_consumer)
  step("run version_consumer" ${WORK_DIR}/version_consumer)

else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()
