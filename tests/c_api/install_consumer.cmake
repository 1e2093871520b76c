# cmake -DBUILD_DIR=<obol build> -DSOURCE_DIR=<obol source> -DWORK_DIR=<scratch> [-DGENERATOR=Ninja]
#       [-DLAUNCHER=ccache] -P install_consumer.cmake
#
# Installs obol into WORK_DIR/prefix, checks the layout, builds examples/ as a separate CMake
# project with find_package(obol CONFIG), runs every example, and compiles c_minimal once more with
# nothing but pkg-config. What an application developer does, from a clean prefix.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(models ${SOURCE_DIR}/tests/data/c_api)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

function(expect text regex what)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: output does not match '${regex}':\n${text}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

# 1. Install.
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
include(GNUInstallDirs)
foreach(f include/obol/obol.h include/obol/obol.hpp include/obol/core/tensor.hpp
          ${CMAKE_INSTALL_LIBDIR}/libobol.a ${CMAKE_INSTALL_LIBDIR}/libobol.so
          ${CMAKE_INSTALL_LIBDIR}/cmake/obol/obolConfig.cmake ${CMAKE_INSTALL_LIBDIR}/cmake/obol/obolConfigVersion.cmake
          ${CMAKE_INSTALL_LIBDIR}/cmake/obol/obolTargets.cmake ${CMAKE_INSTALL_LIBDIR}/pkgconfig/obol.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the install tree lacks ${f}")
  endif()
endforeach()
file(GLOB sonames ${prefix}/${CMAKE_INSTALL_LIBDIR}/libobol.so.[0-9]*)
if(NOT sonames)
  message(FATAL_ERROR "the install tree has no libobol.so.<major>")
endif()
message(STATUS "install layout: ok")

# 2. The examples as a project of their own.
set(configure ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=Release
              -DCMAKE_PREFIX_PATH=${prefix})
if(GENERATOR)
  list(APPEND configure -G ${GENERATOR})
endif()
if(LAUNCHER)
  list(APPEND configure -DCMAKE_C_COMPILER_LAUNCHER=${LAUNCHER} -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${configure})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)
set(bin ${WORK_DIR}/build)

run(${bin}/obol-example-c-minimal ${models}/tiny_mlp.onnx)
expect("${run_output}" "^0 -0\\.1875 0\\.875\n$" "c_minimal")
run(${bin}/obol-example-cpp-minimal)
expect("${run_output}" "3\\.80 +3\\.40 +5\\.50 +5\\.60\n +0\\.00 +0\\.00 +0\\.00 +0\\.00" "cpp_minimal")
run(${bin}/cmake_consumer/obol-example-consumer-cpp ${models}/tiny_mlp.onnx)
expect("${run_output}" "y \\[1, 3\\]: 0 -0\\.1875 0\\.875" "cmake_consumer (C++, obol::obol)")
run(${bin}/cmake_consumer/obol-example-consumer-c ${models}/tiny_mlp.onnx)
expect("${run_output}" "input x f32\\[-1, 4\\]" "cmake_consumer (C, obol::c)")
run(${bin}/obol-example-game-loop ${models}/chain.onnx 40 8)
expect("${run_output}" "40 frames" "game_loop")
message(STATUS "${run_output}")

# 3. pkg-config alone: cc $(pkg-config --cflags --libs obol).
find_program(PKG_CONFIG pkg-config)
find_program(CC NAMES cc gcc)
if(PKG_CONFIG AND CC)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig)
  run(${PKG_CONFIG} --cflags --libs obol)
  string(STRIP "${run_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(${CC} -std=c99 -Wall -Wextra -Werror -pedantic ${SOURCE_DIR}/examples/c_minimal/main.c ${flags}
      -Wl,-rpath,${prefix}/${CMAKE_INSTALL_LIBDIR} -o ${WORK_DIR}/c_minimal_pkgconfig)
  run(${WORK_DIR}/c_minimal_pkgconfig ${models}/tiny_mlp.onnx)
  expect("${run_output}" "^0 -0\\.1875 0\\.875\n$" "c_minimal via pkg-config")
else()
  message(STATUS "pkg-config or cc not found: pkg-config check skipped")
endif()
