#include "WrapperText.h"

#include "TypeWrapping.h"

#include "dsu/abi.h"

#include <fmt/format.h>

namespace dsu {

std::string wrapperText(const WrapperSpec &w) {
  const std::string con = DSU_CON_PREFIX + w.tag;
  std::string text = fmt::format(
      " struct {0} {{ unsigned int __dsu_version; unsigned int __dsu_tag; union {{ struct {1} __dsu_data; char "
      "__dsu_slop[{2}]; }} __dsu_u __attribute__((__aligned__({3}))); }};",
      w.tag, w.rep,
      w.pinned ? std::to_string(w.pinned->unionSize)
              : fmt::format("(sizeof(struct {}) + {} + {}) / {} * {}", w.rep, w.typeSlop,
                            kUnionAlign - 1, kUnionAlign, kUnionAlign),
      kUnionAlign);
  std::string desc = "&" DSU_TDESC_PREFIX + w.tag;
  if (w.pinned) {
    desc = w.pinned->descExpr;
  } else {
    std::string section = w.kernel ? "" : ", __section__(\"" DSU_TYPE_SECTION "\")";
    text += fmt::format(
        " static struct __dsu_type_desc " DSU_TDESC_PREFIX "{0} __attribute__((__used__, "
        "__aligned__(8){2})) = {{ DSU_ABI_VERSION, 0, {3}, \"struct {0}\", __dsu_tu_name, "
        "sizeof(struct {0}), sizeof(struct {1}), __builtin_offsetof(struct {0}, __dsu_u), "
        "sizeof(((struct {0} *)0)->__dsu_u), __dsu_unit_hash, 0 }};",
        w.tag, w.rep, section, w.tagValue);
  }
  // The version is read with acquire semantics: the data of an
  // instance another thread just transformed is read after it.
  const std::string expected =
      w.version ? fmt::format("(DSU_TYPE_MAGIC | {}u)", w.version) : "DSU_TYPE_MAGIC";
  text += fmt::format(
      " static inline __attribute__((__always_inline__, __unused__)) struct {0} *{1}(struct "
      "{2} *p) {{ if (__builtin_expect(__atomic_load_n(&p->__dsu_version, __ATOMIC_ACQUIRE) != {3}, 0)) "
      "__dsu_type_slow({4}, p, {5}); return &p->__dsu_u.__dsu_data; }}",
      w.rep, con, w.tag, expected, desc, w.version);
  // For reads and address computations: memory without the magic and
  // the tag is left alone (it may be no instance at all: a list
  // head's container). The magic and tag test sits in a cold function
  // of its own: inline, clang merged it with the version compare into
  // nine branch-free instructions on every access; apart, the fast
  // path is load, compare, branch.
  text += fmt::format(
      " static __attribute__((__noinline__, __cold__, __unused__)) void "
      DSU_CONR_PREFIX "slow_{2}(struct {2} *p, unsigned int v) {{ if ((v & ~DSU_TYPE_VERSION_MASK) "
      "== DSU_TYPE_MAGIC && p->__dsu_tag == {6}) __dsu_type_slow({4}, p, {5}); }}"
      " static inline __attribute__((__always_inline__, __unused__)) struct {0} "
      "*" DSU_CONR_PREFIX "{2}(struct {2} *p) {{ unsigned int v = __atomic_load_n(&p->__dsu_version, "
      "__ATOMIC_ACQUIRE); if (__builtin_expect(v != {3}, 0)) " DSU_CONR_PREFIX "slow_{2}(p, v); return "
      "&p->__dsu_u.__dsu_data; }}",
      w.rep, con, w.tag, expected, desc, w.version, w.tagValue);
  // Marks a fresh local instance (see UseScanner::VisitDeclStmt).
  text += fmt::format(
      " static inline __attribute__((__always_inline__, __unused__)) int " DSU_MARK_PREFIX "{0}(struct "
      "{0} *p) {{ p->__dsu_version = {1}; p->__dsu_tag = {2}; return 0; }}",
      w.tag, expected, w.tagValue);
  if (w.pinned)
    text += w.pinned->after;
  return text;
}

} // namespace dsu
