# Every build option of obol, in one place.
option(OBOL_BUILD_TESTS "Build the Catch2 test suite" ON)
option(OBOL_BUILD_BENCH "Build the Google Benchmark binaries" ON)
option(OBOL_BUILD_TOOLS "Build the obol command-line tool" ON)
option(OBOL_BUILD_EXAMPLES "Build the examples" ON)
# libobol.a (the C++ API and the C API) is always built; this adds libobol.so.<C API major>, which
# exports only the C API (obol_*). Packagers ship both, as Debian's libobol1 / libobol-dev would.
option(OBOL_BUILD_SHARED "Also build the shared library libobol.so (C API only)" ON)
option(OBOL_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (clang only; see ./run fuzz)" OFF)
option(OBOL_WITH_OPENMP "Use OpenMP for the default parallel_for" ON)
option(OBOL_WITH_ONEDNN "Use oneDNN as an optional CPU provider (benchmarks compare against it regardless)" ON)
option(OBOL_WERROR "Treat compiler warnings as errors" OFF)
set(OBOL_SANITIZE "" CACHE STRING "Sanitizers to build with: empty, 'address;undefined' or 'thread'")
option(OBOL_X86_ISAS "Compile the AVX2 and AVX-512 kernel tiers (x86-64 only)" ON)
# Compile cold code for size (see src/CMakeLists.txt): the operators' generic every-dtype loops with
# -Os and control code with -O2, while the SIMD tiers and hot operators stay at -O3. Release only.
# Turning it off gives a libobol.so of about 5.7 MiB with faster non-f32 fallbacks.
option(OBOL_SIZE_OPTIMIZED_OPS "Compile cold code for size (-Os/-O2) in Release builds" ON)
