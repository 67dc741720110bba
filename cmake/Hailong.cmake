# Helpers shared by every hailong target.

# Warnings (as errors) and sanitizers for hailong's own code only.
function(hailong_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual
                                           -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 reports false positives inside libstdc++ at -O2/-O3 (GCC bug 105651).
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(HAILONG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(HAILONG_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# A core module: an object library folded into libhailong-core.
function(hailong_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(hailong_${name} OBJECT ${M_SOURCES})
  target_include_directories(hailong_${name} PUBLIC ${PROJECT_SOURCE_DIR}/core/include
                                                    ${PROJECT_SOURCE_DIR}/core)
  target_link_libraries(hailong_${name} PUBLIC ${M_DEPENDS})
  hailong_target_options(hailong_${name})
endfunction()

# A channel plugin: a MODULE library with hidden visibility, loaded at run time.
function(hailong_plugin name)
  cmake_parse_arguments(P "TEST_ONLY" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  target_link_libraries(${name} PRIVATE hailong-core ${P_DEPENDS})
  set_target_properties(${name} PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  hailong_target_options(${name})
  if(P_TEST_ONLY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${HAILONG_TEST_PLUGIN_DIR})
  else()
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${HAILONG_BUILD_PLUGIN_DIR})
    install(TARGETS ${name} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/hailong/plugins)
    foreach(data templates static locale)
      if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${data})
        install(DIRECTORY ${data}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hailong/plugins/${name}/${data})
      endif()
    endforeach()
  endif()
endfunction()
