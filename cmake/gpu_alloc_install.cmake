# The install rules (GPU_ALLOC_INSTALL; on by default at the top level only):
#   <prefix>/include/gpu_alloc/...               the headers of the built targets only
#   <prefix>/lib/libgpu_alloc*.a                 the libraries
#   <prefix>/lib/cmake/gpu_alloc/                the CMake package, one export per component:
#       find_package(gpu_alloc CONFIG REQUIRED [COMPONENTS core vulkan ...])
#   <prefix>/lib/pkgconfig/gpu_alloc.pc          the core, for pkg-config users
#   <prefix>/share/gpu_alloc/profiles/           the device profiles (GPU_ALLOC_PROFILE_DIR)
# docs/install.md describes them for users.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(gpu_alloc_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/gpu_alloc)
set(gpu_alloc_profile_install_dir ${CMAKE_INSTALL_DATADIR}/gpu_alloc/profiles)

# The components, in dependency order (a component's dependencies come before
# it): component, its target, the components it links, the packages its
# installed export needs (find_dependency in the package config).
#   <component>|<target>|<component deps>|<package deps>
set(gpu_alloc_component_table
  "types|gpu_alloc_types||"
  "core|gpu_alloc_core|types|Threads"
  "mock|gpu_alloc_mock|types|Threads"
  "profile|gpu_alloc_profile|mock|"
  "vulkan|gpu_alloc_vulkan|types|Vulkan"
  "vulkan_helpers|gpu_alloc_vulkan_helpers|vulkan,core|"
  "d3d12|gpu_alloc_d3d12|types|"
  "metal|gpu_alloc_metal|types|"
  # ---- C API (gpu_alloc::c) -----------------------------------------------
  # The C library, not written yet. Once a target gpu_alloc_c exists (STATIC or
  # SHARED, EXPORT_NAME c, its headers in a FILE_SET HEADERS), it is installed,
  # exported as the component "c" and described by gpu_alloc_c.pc (below)
  # with nothing more to do here; adjust its component and package deps if
  # they are not just the core.
  "c|gpu_alloc_c|core|")

set(gpu_alloc_known_components "")
set(gpu_alloc_installed_components "")
set(gpu_alloc_config_table "")
foreach(row IN LISTS gpu_alloc_component_table)
  string(REPLACE "|" ";" row "${row}")
  list(GET row 0 component)
  list(GET row 1 target)
  list(GET row 2 component_deps)
  list(GET row 3 package_deps)
  string(REPLACE "," ";" component_deps "${component_deps}")
  string(REPLACE "," ";" package_deps "${package_deps}")
  list(APPEND gpu_alloc_known_components ${component})
  if(NOT TARGET ${target})
    continue()
  endif()
  list(APPEND gpu_alloc_installed_components ${component})
  string(APPEND gpu_alloc_config_table
    "set(_gpu_alloc_component_deps_${component} ${component_deps})\n"
    "set(_gpu_alloc_package_deps_${component} ${package_deps})\n")

  get_target_property(header_sets ${target} INTERFACE_HEADER_SETS)
  set(file_set_args "")
  if(header_sets)
    set(file_set_args FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
  install(TARGETS ${target} EXPORT gpu_alloc_${component}_targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
    ${file_set_args}
    INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT gpu_alloc_${component}_targets NAMESPACE gpu_alloc::
    FILE gpu_alloc-${component}-targets.cmake DESTINATION ${gpu_alloc_cmake_dir})
endforeach()

install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/profiles/ DESTINATION ${gpu_alloc_profile_install_dir})

# The CMake package.
list(JOIN gpu_alloc_known_components ", " gpu_alloc_known_components_text)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gpu_alloc-config.cmake.in
  ${PROJECT_BINARY_DIR}/gpu_alloc-config.cmake INSTALL_DESTINATION ${gpu_alloc_cmake_dir}
  PATH_VARS gpu_alloc_profile_install_dir)
# 0.x: a minor release may break the API, so only the same MAJOR.MINOR matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gpu_alloc-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gpu_alloc-config.cmake ${PROJECT_BINARY_DIR}/gpu_alloc-config-version.cmake
  DESTINATION ${gpu_alloc_cmake_dir})

# pkg-config. The paths are relative to the .pc file's folder (${pcfiledir}),
# so an install prefix can be moved or chosen at install time
# (cmake --install --prefix).
set(gpu_alloc_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(gpu_alloc_pc_prefix "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH gpu_alloc_pc_up "/${gpu_alloc_pc_dir}" "/")
  string(REGEX REPLACE "/$" "" gpu_alloc_pc_up "${gpu_alloc_pc_up}")
  set(gpu_alloc_pc_prefix "\${pcfiledir}/${gpu_alloc_pc_up}")
endif()
foreach(kind LIBDIR INCLUDEDIR DATADIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
    set(gpu_alloc_pc_${kind} "${CMAKE_INSTALL_${kind}}")
  else()
    set(gpu_alloc_pc_${kind} "\${prefix}/${CMAKE_INSTALL_${kind}}")
  endif()
endforeach()
find_package(Threads REQUIRED)
set(gpu_alloc_pc_threads "${CMAKE_THREAD_LIBS_INIT}")
get_target_property(gpu_alloc_pc_core_name gpu_alloc_core OUTPUT_NAME)
configure_file(${PROJECT_SOURCE_DIR}/cmake/gpu_alloc.pc.in ${PROJECT_BINARY_DIR}/gpu_alloc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gpu_alloc.pc DESTINATION ${gpu_alloc_pc_dir})

# ---- C API (gpu_alloc::c): gpu_alloc_c.pc -----------------------------------
# Generated only once the C library exists. A C program linking a static
# gpu_alloc_c needs the core and the C++ runtime after it.
if(TARGET gpu_alloc_c)
  get_target_property(gpu_alloc_pc_c_name gpu_alloc_c OUTPUT_NAME)
  if(NOT gpu_alloc_pc_c_name)
    set(gpu_alloc_pc_c_name gpu_alloc_c)
  endif()
  get_target_property(gpu_alloc_c_type gpu_alloc_c TYPE)
  set(gpu_alloc_pc_c_libs "-l${gpu_alloc_pc_c_name}")
  if(gpu_alloc_c_type STREQUAL "STATIC_LIBRARY")
    # Everything on the Libs line, in link order: the C library, the core,
    # threads, the C++ runtime (a C compiler driver does not add it).
    string(APPEND gpu_alloc_pc_c_libs " -l${gpu_alloc_pc_core_name} ${gpu_alloc_pc_threads}")
    foreach(lib IN LISTS CMAKE_CXX_IMPLICIT_LINK_LIBRARIES)
      if(lib MATCHES "^(stdc\\+\\+|c\\+\\+|c\\+\\+abi)$")
        string(APPEND gpu_alloc_pc_c_libs " -l${lib}")
      endif()
    endforeach()
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/gpu_alloc_c.pc.in ${PROJECT_BINARY_DIR}/gpu_alloc_c.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/gpu_alloc_c.pc DESTINATION ${gpu_alloc_pc_dir})
endif()
