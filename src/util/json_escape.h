// JSON string quoting. Pure.
#pragma once

#include <string>
#include <string_view>

namespace dorm {

// `text` (UTF-8) as a JSON string literal, with quotes.
std::string JsonQuote(std::string_view text);

}  // namespace dorm
