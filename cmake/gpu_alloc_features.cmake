# The parts of gpu-alloc that need something from outside the project (the
# adapters, the JSON profile loader), each behind one variable whose value is
#   AUTO  build it when what it needs is found; otherwise skip it with a STATUS
#         line that says why
#   ON    it was asked for: a missing dependency stops the configure
#         (FATAL_ERROR, with the reason and what to do)
#   OFF   do not build it
# (any CMake boolean spelling works for ON and OFF). The variable may be set on
# the command line, in the cache, or as a normal variable by a consuming
# project before add_subdirectory() / FetchContent_MakeAvailable(); none of
# these is ever overwritten.

# gpu_alloc_feature(<VAR> <doc> [SUBPROJECT_DEFAULT AUTO|ON|OFF])
#   Declares the cache entry <VAR> (if the user has not): AUTO when gpu-alloc
#   is the top-level project; as a subproject, SUBPROJECT_DEFAULT (OFF unless
#   given).
function(gpu_alloc_feature var doc)
  cmake_parse_arguments(PARSE_ARGV 2 arg "" "SUBPROJECT_DEFAULT" "")
  if(PROJECT_IS_TOP_LEVEL)
    set(default AUTO)
  elseif(DEFINED arg_SUBPROJECT_DEFAULT)
    set(default ${arg_SUBPROJECT_DEFAULT})
  else()
    set(default OFF)
  endif()
  set(${var} ${default} CACHE STRING "${doc}: AUTO (when found), ON (required) or OFF")
  set_property(CACHE ${var} PROPERTY STRINGS AUTO ON OFF)
endfunction()

# gpu_alloc_feature_mode(<VAR> <out>): <out> = AUTO, ON or OFF from <VAR>'s
# value (a normal variable of the consuming project first, then the cache).
function(gpu_alloc_feature_mode var out)
  string(TOUPPER "${${var}}" value)
  if(value STREQUAL "AUTO")
    set(mode AUTO)
  elseif(value MATCHES "^(ON|YES|TRUE|Y|1)$")
    set(mode ON)
  elseif(value MATCHES "^(OFF|NO|FALSE|N|0|)$")
    set(mode OFF)
  else()
    message(FATAL_ERROR "${var}='${${var}}': expected AUTO, ON or OFF")
  endif()
  set(${out} ${mode} PARENT_SCOPE)
endfunction()

# gpu_alloc_feature_unavailable(<VAR> <what> <reason>)
#   Called by a part's CMakeLists.txt when what it needs is missing, just before
#   it returns without defining its target: an error when <VAR> is ON, else a
#   STATUS line.
function(gpu_alloc_feature_unavailable var what reason)
  gpu_alloc_feature_mode(${var} mode)
  if(mode STREQUAL "ON")
    message(FATAL_ERROR "${var}=ON, but ${what} cannot be built: ${reason}.\n"
      "Install what it needs (docs/install.md), or configure with -D${var}=AUTO (build it only when "
      "found) or -D${var}=OFF.")
  endif()
  message(STATUS "${what}: skipped, ${reason} (${var}=ON would make this an error)")
endfunction()

# gpu_alloc_report_components(): one STATUS line with the gpu_alloc:: targets
# this configure defines.
function(gpu_alloc_report_components)
  set(built "")
  foreach(name types core mock profile vulkan vulkan_helpers d3d12 metal c)
    if(TARGET gpu_alloc_${name})
      list(APPEND built ${name})
    endif()
  endforeach()
  list(JOIN built " " built)
  message(STATUS "gpu-alloc ${PROJECT_VERSION}: building gpu_alloc:: ${built}")
endfunction()
