#include "control/admin_path.h"

namespace dorm::control {

std::vector<std::string> AdminPathParts(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

}  // namespace dorm::control
