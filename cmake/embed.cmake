# Turns INPUT into a C++ source file OUTPUT that defines dorm::NAMESPACE::SYMBOL (NAMESPACE:
# runtime unless given).
if(NOT NAMESPACE)
  set(NAMESPACE runtime)
endif()
file(READ "${INPUT}" content HEX)
string(LENGTH "${content}" hex_length)
math(EXPR byte_count "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE "${OUTPUT}" "// Generated from ${INPUT}; do not edit.\n#include <cstddef>\nnamespace dorm::${NAMESPACE} {\nextern const unsigned char ${SYMBOL}[];\nextern const std::size_t ${SYMBOL}Size;\nconst unsigned char ${SYMBOL}[] = {${bytes}0};\nconst std::size_t ${SYMBOL}Size = ${byte_count};\n}  // namespace dorm::${NAMESPACE}\n")
