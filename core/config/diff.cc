#include "core/config/diff.h"

#include <algorithm>
#include <map>

#include "core/config/yaml_tree.h"

namespace gh::config {
namespace {

// Values longer than this are shortened in field lines.
constexpr size_t kMaxValueChars = 120;
// Above this many item pairs a list is compared index by index instead of aligned first: the
// alignment is quadratic, and lists that long are not read item by item anyway.
constexpr size_t kMaxAlignCells = 1'000'000;

void appendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// Compact JSON of a node. Quoted scalars are strings; plain ones (numbers, true, false, null)
// are written as they were.
void render(const YamlNode& n, std::string* out) {
  switch (n.type) {
    case YamlNode::Type::kScalar:
      if (n.quoted) {
        appendJsonString(out, n.value);
      } else {
        out->append(n.value);
      }
      return;
    case YamlNode::Type::kMapping: {
      out->push_back('{');
      for (size_t i = 0; i < n.entries.size(); ++i) {
        if (i) out->push_back(',');
        appendJsonString(out, n.entries[i].key.value);
        out->push_back(':');
        render(n.entries[i].value, out);
      }
      out->push_back('}');
      return;
    }
    case YamlNode::Type::kSequence: {
      out->push_back('[');
      for (size_t i = 0; i < n.items.size(); ++i) {
        if (i) out->push_back(',');
        render(n.items[i], out);
      }
      out->push_back(']');
      return;
    }
  }
}

std::string rendered(const YamlNode& n) {
  std::string out;
  render(n, &out);
  return out;
}

std::string shorten(std::string s) {
  if (s.size() <= kMaxValueChars) return s;
  // Cut on a character boundary: never inside a UTF-8 sequence.
  size_t cut = kMaxValueChars - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "...";
  return s;
}

class Differ {
 public:
  explicit Differ(std::vector<FieldChange>* out) : out_(out) {}

  void node(const std::string& path, const YamlNode& a, const YamlNode& b) {
    if (a.isMapping() && b.isMapping()) return mapping(path, a, b);
    if (a.isSequence() && b.isSequence()) return sequence(path, a, b);
    std::string before = rendered(a), after = rendered(b);
    if (before != after)
      out_->push_back({path, shorten(std::move(before)), shorten(std::move(after))});
  }

 private:
  void added(const std::string& path, const YamlNode& n) {
    out_->push_back({path, "", shorten(rendered(n))});
  }
  void removed(const std::string& path, const YamlNode& n) {
    out_->push_back({path, shorten(rendered(n)), ""});
  }

  // Fields in the order of the old document, then the new document's new fields: canonical
  // JSON has one key order, so both orders agree wherever both have the key.
  void mapping(const std::string& path, const YamlNode& a, const YamlNode& b) {
    for (const YamlNode::Entry& e : a.entries) {
      std::string sub = path;
      appendPathKey(&sub, e.key.value);
      if (const YamlNode* other = b.find(e.key.value)) {
        node(sub, e.value, *other);
      } else {
        removed(sub, e.value);
      }
    }
    for (const YamlNode::Entry& e : b.entries) {
      if (a.find(e.key.value)) continue;
      std::string sub = path;
      appendPathKey(&sub, e.key.value);
      added(sub, e.value);
    }
  }

  // Items equal in both lists are matched by their longest common subsequence; between two
  // matched items, the old items left over are paired in order with the new ones and compared
  // field by field, and what is left unpaired was removed or added. Paths of removed items
  // carry their old index, all others their new one.
  void sequence(const std::string& path, const YamlNode& a, const YamlNode& b) {
    const size_t n = a.items.size(), m = b.items.size();
    std::vector<std::pair<size_t, size_t>> matches;  // (old index, new index), ascending
    if (n * m <= kMaxAlignCells) {
      std::vector<std::string> ra, rb;
      for (const YamlNode& x : a.items) ra.push_back(rendered(x));
      for (const YamlNode& x : b.items) rb.push_back(rendered(x));
      // lcs[i][j]: length of the LCS of ra[i..] and rb[j..].
      std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
      for (size_t i = n; i-- > 0;)
        for (size_t j = m; j-- > 0;)
          lcs[i][j] =
              ra[i] == rb[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
      for (size_t i = 0, j = 0; i < n && j < m;) {
        if (ra[i] == rb[j]) {
          matches.emplace_back(i++, j++);
        } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
          ++i;
        } else {
          ++j;
        }
      }
    }
    matches.emplace_back(n, m);  // a sentinel that closes the last gap
    size_t i = 0, j = 0;
    for (const auto& [mi, mj] : matches) {
      while (i < mi && j < mj) {
        std::string sub = path;
        appendPathIndex(&sub, j);
        node(sub, a.items[i++], b.items[j++]);
      }
      for (; i < mi; ++i) {
        std::string sub = path;
        appendPathIndex(&sub, i);
        removed(sub, a.items[i]);
      }
      for (; j < mj; ++j) {
        std::string sub = path;
        appendPathIndex(&sub, j);
        added(sub, b.items[j]);
      }
      i = mi + 1;
      j = mj + 1;
    }
  }

  std::vector<FieldChange>* out_;
};

bool parseOne(std::string_view text, YamlNode* root) {
  YamlReader reader(text);
  std::vector<YamlProblem> problems;
  if (reader.next(root, &problems) != YamlReader::Status::kDocument || !problems.empty())
    return false;
  YamlNode extra;
  return reader.next(&extra, &problems) == YamlReader::Status::kEnd;
}

}  // namespace

std::string resourceKey(const Resource& r) {
  return std::string(kindName(r.kind)) + "/" + r.meta.ns + "/" + r.meta.name;
}

std::vector<FieldChange> diffJson(std::string_view before, std::string_view after) {
  std::vector<FieldChange> out;
  if (before == after) return out;
  YamlNode a, b;
  if (!parseOne(before, &a) || !parseOne(after, &b)) {
    out.push_back({"", shorten(std::string(before)), shorten(std::string(after))});
    return out;
  }
  Differ(&out).node("", a, b);
  return out;
}

ConfigDiff diffResources(const std::vector<const Resource*>& before,
                         const std::vector<const Resource*>& after) {
  std::map<std::string, const Resource*> old, now;
  for (const Resource* r : before) old[resourceKey(*r)] = r;
  for (const Resource* r : after) now[resourceKey(*r)] = r;

  ConfigDiff diff;
  auto o = old.begin(), a = now.begin();
  while (o != old.end() || a != now.end()) {
    if (a == now.end() || (o != old.end() && o->first < a->first)) {
      diff.changes.push_back({ResourceChange::Op::kDeleted, o->first, {}});
      ++diff.deleted;
      ++o;
    } else if (o == old.end() || a->first < o->first) {
      diff.changes.push_back({ResourceChange::Op::kCreated, a->first, {}});
      ++diff.created;
      ++a;
    } else {
      if (o->second->json == a->second->json) {
        ++diff.unchanged;
      } else {
        diff.changes.push_back(
            {ResourceChange::Op::kChanged, a->first, diffJson(o->second->json, a->second->json)});
        ++diff.changed;
      }
      ++o;
      ++a;
    }
  }
  return diff;
}

ConfigDiff diffResources(const std::vector<Resource>& before, const std::vector<Resource>& after) {
  std::vector<const Resource*> b, a;
  for (const Resource& r : before) b.push_back(&r);
  for (const Resource& r : after) a.push_back(&r);
  return diffResources(b, a);
}

std::string formatDiff(const ConfigDiff& diff, std::string_view indent) {
  std::string out;
  for (const ResourceChange& c : diff.changes) {
    out.append(indent);
    out.append(c.op == ResourceChange::Op::kCreated   ? "+ "
               : c.op == ResourceChange::Op::kDeleted ? "- "
                                                      : "~ ");
    out.append(c.key);
    out.push_back('\n');
    for (const FieldChange& f : c.fields) {
      out.append(indent);
      out.append("    ");
      out.append(f.path.empty() ? "(document)" : f.path);
      out.append(": ");
      if (f.before.empty()) {
        out.append("+ " + f.after);
      } else if (f.after.empty()) {
        out.append("- " + f.before);
      } else {
        out.append(f.before + " -> " + f.after);
      }
      out.push_back('\n');
    }
  }
  return out;
}

std::string formatCounts(const ConfigDiff& diff) {
  return std::to_string(diff.created) + " created, " + std::to_string(diff.changed) +
         " configured, " + std::to_string(diff.unchanged) + " unchanged, " +
         std::to_string(diff.deleted) + " deleted";
}

}  // namespace gh::config
