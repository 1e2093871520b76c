# obol_set_warnings(<target>): the warning set for obol's own code.
function(obol_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-psabi)
  if(OBOL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
