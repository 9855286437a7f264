# Writes OUTPUT, a C++ file defining tandem::embedded::SYMBOL with the text of INPUT.
file(READ ${INPUT} content)
string(FIND "${content}" ")embedded\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )embedded\"")
endif()
file(WRITE ${OUTPUT} "#include <string_view>\nnamespace tandem::embedded {\nextern const std::string_view ${SYMBOL};\nconst std::string_view ${SYMBOL} = R\"embedded(${content})embedded\";\n}  // namespace tandem::embedded\n")
