#include "vlm/projector_cache.hpp"

namespace georank::vlm {

std::shared_ptr<const std::vector<float>> ProjectorCache::find(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->embedding;
}

void ProjectorCache::put(const std::string& key, std::shared_ptr<const std::vector<float>> embedding) {
  const std::size_t n = embedding->size() * sizeof(float);
  if (n > max_bytes_) return;
  if (const auto it = index_.find(key); it != index_.end()) {
    bytes_ -= it->second->embedding->size() * sizeof(float);
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (bytes_ + n > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().embedding->size() * sizeof(float);
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front({key, std::move(embedding)});
  index_[key] = lru_.begin();
  bytes_ += n;
}

}  // namespace georank::vlm
