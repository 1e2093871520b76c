# The shared library, installation, and what find_package(obol) and pkg-config read.
#
#   obol::obol  libobol.a        the C++ API (and the C API), static; links what obol links
#   obol::c     libobol.so.<N>   the C API only (obol_*, versioned OBOL_<N>); N = the C API major
#   obol::core  header-only      tensors, Status, hooks
#
# Static C++ and shared C is what embedders expect: the C++ API has no stable ABI (templates,
# std:: types across the boundary), so it is linked statically and its symbols never leak into the
# host; the C API is the stable binary interface, so it is the one that gets a SONAME.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The C API version comes from obol.h, the one place it is written.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/obol/obol.h _obol_api_lines
     REGEX "^#define OBOL_API_VERSION_(MAJOR|MINOR|PATCH) [0-9]+")
foreach(_part MAJOR MINOR PATCH)
  string(REGEX MATCH "OBOL_API_VERSION_${_part} ([0-9]+)" _m "${_obol_api_lines}")
  set(OBOL_C_API_VERSION_${_part} ${CMAKE_MATCH_1})
endforeach()
set(OBOL_C_API_VERSION "${OBOL_C_API_VERSION_MAJOR}.${OBOL_C_API_VERSION_MINOR}.${OBOL_C_API_VERSION_PATCH}")

if(OBOL_BUILD_SHARED)
  # The same objects as libobol.a (compiled once, PIC, hidden visibility); linking `obol` as well
  # brings its dependencies (OpenMP, oneDNN, ...) and adds no object, since all are present.
  add_library(obol_shared SHARED $<TARGET_OBJECTS:obol>)
  add_library(obol::c ALIAS obol_shared)
  set(_obol_map ${PROJECT_SOURCE_DIR}/cmake/obol-exports.map)
  set_target_properties(obol_shared PROPERTIES
    OUTPUT_NAME obol
    VERSION ${OBOL_C_API_VERSION}
    SOVERSION ${OBOL_C_API_VERSION_MAJOR}
    EXPORT_NAME c
    LINK_DEPENDS ${_obol_map})
  target_link_libraries(obol_shared PRIVATE obol)
  target_link_options(obol_shared PRIVATE
    -Wl,--version-script=${_obol_map} -Wl,--gc-sections -Wl,-O1 -Wl,-z,relro -Wl,-z,now
    $<$<NOT:$<BOOL:${OBOL_SANITIZE}>>:-Wl,--no-undefined>)
  # Identical code folding merges the byte-identical functions that templates instantiated for
  # different types (about 80 KB here); gold has it, and ships with binutils wherever GNU ld does.
  # Sanitizer builds keep the default linker.
  if(OBOL_SIZE_OPTIMIZED_OPS AND NOT OBOL_SANITIZE)
    include(CheckLinkerFlag)
    check_linker_flag(CXX "-fuse-ld=gold;LINKER:--icf=safe" OBOL_HAVE_GOLD_ICF)
    if(OBOL_HAVE_GOLD_ICF)
      target_link_options(obol_shared PRIVATE -fuse-ld=gold LINKER:--icf=safe)
    endif()
  endif()
  target_include_directories(obol_shared INTERFACE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                                   $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  set(_obol_shared_target obol_shared)
endif()

# --- install --------------------------------------------------------------------------------------
set_target_properties(obol_core PROPERTIES EXPORT_NAME core)
install(TARGETS obol_core obol ${_obol_shared_target} EXPORT obolTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/obol DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp" PATTERN "*.def")
set(_obol_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/obol)

# find_dependency() lines for the imported targets the exported ones name. Read from the targets
# themselves (not from options), so a dependency that moves between obol::core and obol, or goes
# away, is followed without editing this file. libobol.a's private dependencies count: a static
# library's users link them.
set(_obol_deps "")
foreach(_t obol_core obol)
  get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
  if(_libs)
    list(APPEND _obol_deps ${_libs})
  endif()
  get_target_property(_libs ${_t} LINK_LIBRARIES)
  if(_libs)
    list(APPEND _obol_deps ${_libs})
  endif()
endforeach()
string(REGEX REPLACE "\\$<BUILD_INTERFACE:[^>]*>" "" _obol_deps "${_obol_deps}")
string(REGEX REPLACE "\\$<LINK_ONLY:([^>]*)>" "\\1" _obol_deps "${_obol_deps}")
set(OBOL_CONFIG_DEPENDENCIES "")
set(OBOL_PC_LIBS_PRIVATE "-lstdc++ -lm -pthread")
set(_obol_seen "")
set(_obol_export_broken OFF)
foreach(_d IN LISTS _obol_deps)
  if(_d IN_LIST _obol_seen OR _d MATCHES "^obol" OR _d MATCHES "^\\$<" OR _d STREQUAL "")
    continue()
  endif()
  list(APPEND _obol_seen ${_d})
  if(_d STREQUAL "OpenMP::OpenMP_CXX")
    string(APPEND OBOL_CONFIG_DEPENDENCIES "find_dependency(OpenMP COMPONENTS CXX)\n")
    string(APPEND OBOL_PC_LIBS_PRIVATE " ${OpenMP_CXX_FLAGS}")
  elseif(_d STREQUAL "Threads::Threads")
    string(APPEND OBOL_CONFIG_DEPENDENCIES "set(THREADS_PREFER_PTHREAD_FLAG ON)\nfind_dependency(Threads)\n")
  elseif(_d STREQUAL "DNNL::dnnl")
    string(APPEND OBOL_CONFIG_DEPENDENCIES "find_dependency(dnnl)\n")
    string(APPEND OBOL_PC_LIBS_PRIVATE " -ldnnl")
  elseif(_d MATCHES "^(xsimd|xtl)$")
    string(APPEND OBOL_CONFIG_DEPENDENCIES "find_dependency(xtl)\nfind_dependency(xsimd)\n")
  elseif(_d MATCHES "^([A-Za-z0-9_]+)::")
    # Another imported target: assume its package is named like its namespace.
    message(WARNING "obolConfig.cmake: find_dependency(${CMAKE_MATCH_1}) for ${_d} is a guess; "
                    "add the package to cmake/obolExport.cmake, or link it as $<BUILD_INTERFACE:${_d}> if "
                    "consumers do not need it")
    string(APPEND OBOL_CONFIG_DEPENDENCIES "find_dependency(${CMAKE_MATCH_1})\n")
  elseif(TARGET ${_d})
    message(WARNING "obol links the in-tree target '${_d}', which is not installed, so obolTargets.cmake "
                    "is not installed either: link it as $<BUILD_INTERFACE:${_d}> (src/CMakeLists.txt)")
    set(_obol_export_broken ON)
  elseif(_d MATCHES "^-")
    string(APPEND OBOL_PC_LIBS_PRIVATE " ${_d}")
  else()
    string(APPEND OBOL_PC_LIBS_PRIVATE " -l${_d}")  # a plain library name
  endif()
endforeach()
set(OBOL_CONFIG_HAS_C ${OBOL_BUILD_SHARED})
if(NOT _obol_export_broken)
  install(EXPORT obolTargets NAMESPACE obol:: DESTINATION ${_obol_cmake_dir})
endif()

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/obolConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/obolConfig.cmake INSTALL_DESTINATION ${_obol_cmake_dir})
# Same major version = compatible (0.x: same minor, as is usual before 1.0).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/obolConfigVersion.cmake VERSION ${PROJECT_VERSION}
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/obolConfig.cmake ${PROJECT_BINARY_DIR}/obolConfigVersion.cmake
        DESTINATION ${_obol_cmake_dir})

# pkg-config: `pkg-config --cflags --libs obol` links the shared C API; `--static` adds what
# libobol.a needs. The prefix is found from the .pc file's own location, so the tree is relocatable.
file(RELATIVE_PATH _obol_pc_to_prefix ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" _obol_pc_to_prefix "${_obol_pc_to_prefix}")
set(OBOL_PC_PREFIX "\${pcfiledir}/${_obol_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/obol.pc.in ${PROJECT_BINARY_DIR}/obol.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/obol.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
