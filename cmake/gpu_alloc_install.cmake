# install(EXPORT) with a package config and version file, so that
#   find_package(gpu_alloc CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE gpu_alloc::core)
# works from an install prefix.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(gpu_alloc_install_targets gpu_alloc_types gpu_alloc_core gpu_alloc_mock)
foreach(optional gpu_alloc_profile gpu_alloc_vulkan gpu_alloc_vulkan_helpers gpu_alloc_d3d12 gpu_alloc_metal)
  if(TARGET ${optional})
    list(APPEND gpu_alloc_install_targets ${optional})
  endif()
endforeach()

install(TARGETS ${gpu_alloc_install_targets} EXPORT gpu_alloc_targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

foreach(include_root gpu-alloc-types/include gpu-alloc/include gpu-alloc-mock/include gpu-alloc-vulkan/include
                     gpu-alloc-d3d12-shim/include gpu-alloc-metal-shim/include)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${include_root})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${include_root}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/data/profiles/ DESTINATION ${CMAKE_INSTALL_DATADIR}/gpu_alloc/profiles)

if(TARGET gpu_alloc_vulkan)
  set(GPU_ALLOC_CONFIG_NEEDS_VULKAN ON)
else()
  set(GPU_ALLOC_CONFIG_NEEDS_VULKAN OFF)
endif()
set(gpu_alloc_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/gpu_alloc)
install(EXPORT gpu_alloc_targets NAMESPACE gpu_alloc:: FILE gpu_alloc-targets.cmake DESTINATION ${gpu_alloc_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gpu_alloc-config.cmake.in
  ${PROJECT_BINARY_DIR}/gpu_alloc-config.cmake INSTALL_DESTINATION ${gpu_alloc_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gpu_alloc-config-version.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gpu_alloc-config.cmake ${PROJECT_BINARY_DIR}/gpu_alloc-config-version.cmake
  DESTINATION ${gpu_alloc_cmake_dir})
