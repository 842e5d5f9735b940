# Compiler warnings and sanitizers shared by every chanstate target.
function(chanstate_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CHANSTATE_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(CHANSTATE_SANITIZERS)
  message(STATUS "chanstate: building with -fsanitize=${CHANSTATE_SANITIZERS}")
  add_compile_options(-fsanitize=${CHANSTATE_SANITIZERS} -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${CHANSTATE_SANITIZERS})
endif()
