# All third-party packages, found from the system (Debian's packages; see ./run for the list).

# xsimd 8.1's exported target links a bare `xtl`: find xtl first so the target resolves.
find_package(xtl REQUIRED)
find_package(xsimd REQUIRED)

if(OBOL_WITH_OPENMP)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
endif()

# xxHash (libxxhash-dev), used header-only (XXH_INLINE_ALL) for the response cache's 128-bit keys.
find_path(OBOL_XXHASH_INCLUDE_DIR xxhash.h)
if(NOT OBOL_XXHASH_INCLUDE_DIR)
  message(FATAL_ERROR "xxHash's header (libxxhash-dev) is needed for the response cache; install it (./run deps)")
endif()

if(OBOL_WITH_ONEDNN OR OBOL_BUILD_BENCH)
  find_package(dnnl QUIET)
  if(NOT dnnl_FOUND)
    if(OBOL_BUILD_BENCH)
      message(FATAL_ERROR "oneDNN (libdnnl-dev) is needed for the benchmarks; install it or set OBOL_BUILD_BENCH=OFF")
    endif()
    set(OBOL_WITH_ONEDNN OFF)
  endif()
endif()

if(OBOL_BUILD_TESTS OR OBOL_BUILD_BENCH)
  find_package(Eigen3 3.3 REQUIRED NO_MODULE)
endif()
if(OBOL_BUILD_TESTS)
  find_package(Catch2 2 REQUIRED)
endif()
if(OBOL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
if(OBOL_BUILD_TOOLS)
  find_package(CLI11 REQUIRED)
  find_package(nlohmann_json 3 REQUIRED)
endif()
