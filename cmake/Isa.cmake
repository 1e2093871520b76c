# Per-ISA translation units: a file named <name>__<isa>.cpp is compiled with that tier's flags only.
# Nothing else in the build gets ISA flags, so the binary runs on any x86-64 and picks a tier at run time.

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND OBOL_X86_ISAS)
  set(OBOL_HAVE_X86_ISAS ON)
else()
  set(OBOL_HAVE_X86_ISAS OFF)
endif()

set(OBOL_ISA_FLAGS_avx2 -mavx2 -mfma -mf16c)
# Eigen refuses -mavx512f without -mfma; keep both.
set(OBOL_ISA_FLAGS_avx512 -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512cd -mavx2 -mfma -mf16c)
# int8 tiers (the int8 GEMM only): AVX-VNNI on ymm, AVX512-VNNI, and AMX-INT8 tiles.
set(OBOL_ISA_FLAGS_avxvnni -mavx2 -mfma -mf16c -mavxvnni)
set(OBOL_ISA_FLAGS_avx512vnni ${OBOL_ISA_FLAGS_avx512} -mavx512vnni)
set(OBOL_ISA_FLAGS_amx ${OBOL_ISA_FLAGS_avx512vnni} -mamx-tile -mamx-int8)

# A tier whose flags this compiler lacks is left out; OBOL_HAVE_ISA_<TIER> tells the dispatch code.
include(CheckCXXCompilerFlag)
foreach(isa avxvnni avx512vnni amx)
  string(TOUPPER ${isa} _isa_upper)
  if(OBOL_HAVE_X86_ISAS)
    set(CMAKE_REQUIRED_FLAGS "${OBOL_ISA_FLAGS_${isa}}")
    string(REPLACE ";" " " CMAKE_REQUIRED_FLAGS "${CMAKE_REQUIRED_FLAGS}")
    check_cxx_source_compiles("int main() { return 0; }" OBOL_COMPILER_HAS_${_isa_upper})
    unset(CMAKE_REQUIRED_FLAGS)
  endif()
  if(OBOL_HAVE_X86_ISAS AND OBOL_COMPILER_HAS_${_isa_upper})
    set(OBOL_HAVE_ISA_${isa} ON)
    add_compile_definitions(OBOL_HAVE_ISA_${_isa_upper}=1)
  else()
    set(OBOL_HAVE_ISA_${isa} OFF)
  endif()
endforeach()

# obol_apply_isa_flags(<source files...>): sets the per-tier flags on every <name>__<isa>.cpp given,
# and drops the non-scalar tiers when they cannot be built.
function(obol_filter_isa_sources out_var)
  set(result "")
  foreach(src IN LISTS ARGN)
    get_filename_component(name "${src}" NAME_WE)
    if(name MATCHES "__(avx2|avx512|avxvnni|avx512vnni|amx)$")
      set(isa "${CMAKE_MATCH_1}")
      if(NOT OBOL_HAVE_X86_ISAS)
        continue()
      endif()
      if(isa MATCHES "^(avxvnni|avx512vnni|amx)$" AND NOT OBOL_HAVE_ISA_${isa})
        continue()
      endif()
      set_source_files_properties("${src}" PROPERTIES COMPILE_OPTIONS "${OBOL_ISA_FLAGS_${isa}}"
                                                 COMPILE_DEFINITIONS "OBOL_ISA_TAG=${isa}")
    endif()
    list(APPEND result "${src}")
  endforeach()
  set(${out_var} "${result}" PARENT_SCOPE)
endfunction()
