# cmake -DLIB=libobol.so.N -DSTRIP=strip -DOUT=tmpfile -DLIMIT=bytes -P check_size.cmake
#
# The stripped shared library (the CPU backend, every operator) stays within LIMIT bytes: what an
# app or game ships. docs/performance.md ("Library size") says where the bytes go and what keeps
# the size down.
execute_process(COMMAND ${STRIP} --strip-unneeded -o ${OUT} ${LIB} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${STRIP} failed on ${LIB}")
endif()
file(SIZE ${OUT} size)
math(EXPR kib "${size} / 1024")
math(EXPR limit_kib "${LIMIT} / 1024")
message(STATUS "stripped ${LIB}: ${size} bytes (${kib} KiB), limit ${LIMIT} bytes (${limit_kib} KiB)")
if(size GREATER LIMIT)
  message(FATAL_ERROR "stripped libobol.so is ${size} bytes, over the ${LIMIT}-byte limit: see "
                      "docs/performance.md, \"Library size\", before adding code to the operator layer")
endif()
