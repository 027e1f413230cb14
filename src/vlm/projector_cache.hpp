#pragma once
// Least-recently-used cache of projector outputs (image embeddings as the LLM consumes them) keyed by
// (mmproj fingerprint, image id), bounded in bytes. Not thread-safe (owned by one backend).

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace georank::vlm {

class ProjectorCache {
 public:
  explicit ProjectorCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  /// The embedding, or nullptr; a hit becomes the most recently used entry.
  std::shared_ptr<const std::vector<float>> find(const std::string& key);
  /// Stores an embedding, evicting least recently used entries beyond the bound. An entry
  /// larger than the whole bound is not stored.
  void put(const std::string& key, std::shared_ptr<const std::vector<float>> embedding);

  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  [[nodiscard]] std::size_t size() const { return index_.size(); }
  [[nodiscard]] std::size_t hits() const { return hits_; }
  [[nodiscard]] std::size_t misses() const { return misses_; }

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const std::vector<float>> embedding;
  };
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::size_t hits_ = 0, misses_ = 0;
  std::list<Entry> lru_;  // front: most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace georank::vlm
