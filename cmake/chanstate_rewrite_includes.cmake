# Install-time step: in the installed headers under CHANSTATE_REWRITE_DIR,
# includes of "registry/x", "actors/x" and "app/x" become
# <chanstate/registry/x>, <chanstate/actors/x> and <chanstate/endpoint/x>,
# the names the package installs them under. Idempotent.
file(GLOB_RECURSE _chanstate_headers "${CHANSTATE_REWRITE_DIR}/*.hpp")
foreach(_h IN LISTS _chanstate_headers)
  file(READ "${_h}" _text)
  set(_new "${_text}")
  string(REGEX REPLACE "#include \"registry/([^\"]+)\"" "#include <chanstate/registry/\\1>" _new "${_new}")
  string(REGEX REPLACE "#include \"actors/([^\"]+)\"" "#include <chanstate/actors/\\1>" _new "${_new}")
  string(REGEX REPLACE "#include \"app/([^\"]+)\"" "#include <chanstate/endpoint/\\1>" _new "${_new}")
  if(NOT _new STREQUAL _text)
    file(WRITE "${_h}" "${_new}")
  endif()
endforeach()
