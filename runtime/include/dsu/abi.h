/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DSU ABI: the single definition of what code rewritten by dsu-cc, the
 * runtime (user space and kernel) and generated patches share.
 *
 * dsu-cc pastes this header's text verbatim at the top of every rewritten
 * translation unit (the unit is already preprocessed, so it cannot #include
 * it), which is why it must stay self-contained: no #include, valid C89-with-
 * GNU-extensions in both user space and the kernel, and nothing that emits
 * code or data by itself.
 *
 * For every updateable function f of a translation unit the rewrite emits
 *   __dsu_v0_f   the original body (version 0), internal linkage
 *   __dsu_fp_f   the pointer every instrumented call goes through
 *                (same linkage as f)
 *   f            a stub with f's prototype, linkage and address that calls
 *                through __dsu_fp_f, so ops tables, EXPORT_SYMBOL, assembly
 *                and uninstrumented callers keep working
 *   __dsu_desc_f a struct __dsu_func_desc describing the above,
 * and for every static variable a patch may need to reach (file-scope
 * statics of the unit's own source, static locals of updateable functions)
 *   __dsu_vdesc_v  a struct __dsu_var_desc.
 * Together the descriptors are the registry: the runtime looks them up by
 * (translation unit, name), so a patch reaches static functions and data of
 * the running program or kernel without copying them.
 */
#ifndef DSU_ABI_H
#define DSU_ABI_H

/* Bumped on any incompatible change to the structures below. */
#define DSU_ABI_VERSION 5

/*
 * Sections holding the descriptors of a user-space program; the linker
 * provides __start_<section> / __stop_<section> around each. Kernel objects
 * place descriptors in .data instead (an unknown section in vmlinux would be
 * an orphan section, which the kernel link warns about), and the kernel
 * runtime finds them through kallsyms by the name prefixes below.
 */
#define DSU_FUNC_SECTION "__dsu_funcs"
#define DSU_VAR_SECTION "__dsu_vars"

/* Name prefixes of the generated symbols. */
#define DSU_BODY_PREFIX "__dsu_v0_"
#define DSU_PTR_PREFIX "__dsu_fp_"
#define DSU_DESC_PREFIX "__dsu_desc_"
#define DSU_VDESC_PREFIX "__dsu_vdesc_"

struct __dsu_func_desc {
	unsigned int abi;      /* DSU_ABI_VERSION of the code that emitted it */
	unsigned int version;  /* patch level now installed in *ptr; 0 = as built */
	const char *name;      /* source-level name of the function */
	const char *tu;        /* translation unit: source path as compiled */
	void **ptr;            /* &__dsu_fp_<name> */
	void *body;            /* __dsu_v0_<name>: the version-0 body */
	void *stub;            /* <name>: the address the rest of the world sees */
	const char *unit_hash; /* identity of the unit as built (manifest unit_hash) */
};

/* struct __dsu_var_desc.flags */
#define DSU_VAR_LOCAL 1u /* a static local: name is "function.variable" */
#define DSU_VAR_CONST 2u /* const-qualified (read-only data) */

struct __dsu_var_desc {
	unsigned int abi;
	unsigned int flags;
	const char *name;      /* "v", or "f.v" (then "f.v#2", ...) for static locals */
	const char *tu;
	void *addr;
	unsigned long size;
	const char *unit_hash;
};

/*
 * Wrapped types (selected structs of a unit's own source). dsu-cc turns
 *   struct T { fields };
 * into the version-0 representation and a wrapper with the original tag:
 *   struct __dsu_rep_T_0 { fields };
 *   struct T { unsigned int __dsu_version; unsigned int __dsu_tag;
 *              union { struct __dsu_rep_T_0 __dsu_data;
 *                      char __dsu_slop[ROUND8(sizeof(struct __dsu_rep_T_0) + SLOP)]; }
 *                __dsu_u __attribute__((__aligned__(8))); };
 * and every concrete use goes through __dsu_con_T(p), which returns the
 * representation after making sure the instance is in the version the code
 * was compiled for. The version field holds DSU_TYPE_MAGIC | version and
 * the tag field the type's tag (FNV-1a over tu, a 0 byte and
 * "struct T"); an instance without the magic or with another tag (zeroed,
 * or fresh memory not written yet, which may hold a freed instance of
 * another wrapped type, or any bytes at all) is taken to be in the current
 * version. The magic alone is 8 bits: kmalloc'd garbage had it.
 *
 * A patch that changes T's layout brings version n: its code is compiled
 * against struct __dsu_rep_T_n (which must fit in the same union: sizeof and
 * alignment of the wrapper never change) and its accessor expects n. The
 * runtime transforms an older instance on its first concrete use, in place,
 * one step at a time (n-1 -> n through the patch's transformer); while one
 * thread (CPU) transforms it the version field holds DSU_TYPE_BUSY, so two
 * threads touching the same old instance transform it exactly once.
 */
#define DSU_TYPE_MAGIC 0xD5000000u
#define DSU_TYPE_VERSION_MASK 0x00ffffffu
#define DSU_TYPE_BUSY (DSU_TYPE_MAGIC | DSU_TYPE_VERSION_MASK)

struct __dsu_type_desc {
	unsigned int abi;
	/* The version instances are brought to; 0 = as built. (Not "current":
	 * the kernel defines that as a macro.) */
	unsigned int version_now;
	unsigned int tag;      /* what __dsu_tag of its instances holds */
	const char *name;      /* "struct T" */
	const char *tu;
	unsigned long size;    /* sizeof the wrapper */
	unsigned long rep_size; /* sizeof the version-0 representation */
	unsigned long data_offset; /* offsetof(wrapper, __dsu_u) */
	unsigned long data_size;   /* sizeof the union: representation + slop */
	const char *unit_hash;
	void *runtime;         /* reserved for the runtime (NULL as built) */
};

/* The slow path of every __dsu_con_T: brings *obj to version `expected`. */
void __dsu_type_slow(struct __dsu_type_desc *type, void *obj, unsigned int expected);

/*
 * Shadow data (dsu-patchgen --shadow TAG): fields a patch adds to a struct
 * that is not wrapped (a kernel struct in a header, such as task_struct)
 * live outside the object, keyed by its address and a field id, as
 * livepatch's shadow variables. Patch code reaches such a field through
 *   __dsu_shadow(obj, id, size)   zeroed storage, allocated on first use
 *                                 (never sleeps: the kernel allocates atomically)
 * and, where the patch code frees an object of the type, releases all of
 * its shadow data first:
 *   __dsu_shadow_release(obj)     returns obj (it wraps the free's argument).
 */
void *__dsu_shadow(const void *obj, unsigned long id, unsigned long size);
void *__dsu_shadow_release(const void *obj);

#define DSU_TYPE_SECTION "__dsu_types"
#define DSU_TDESC_PREFIX "__dsu_tdesc_"
/* Per wrapped type T, emitted into every unit that uses it: the version-N
 * representation struct, the accessors for writes and reads (which bring an
 * instance to the current version) and the marker for fresh locals. */
#define DSU_REP_PREFIX "__dsu_rep_"     /* struct __dsu_rep_T_N */
#define DSU_CON_PREFIX "__dsu_con_"     /* __dsu_con_T(p): for writes */
#define DSU_CONR_PREFIX "__dsu_conr_"   /* __dsu_conr_T(p): for reads */
#define DSU_MARK_PREFIX "__dsu_mark_"   /* __dsu_mark_T(p): a fresh local */

/*
 * Patches. A patch (a shared object, or a kernel module) defines one
 * struct __dsu_patch named __dsu_patch. Applying it
 *   1. checks that every unit it was built against runs with the same
 *      unit_hash, and that the patch on top of the stack is `parent`;
 *   2. fills every reference slot from the registry;
 *   3. waits until no function it replaces is active (on a stack), then,
 *      with everything else stopped, points each replaced function's
 *      pointer at the new code, registers what the patch adds and moves
 *      the wrapped types it changes to their new version (instances are
 *      transformed lazily, on first use).
 * All of it or nothing. Reverting the newest patch restores the pointers
 * it changed, when none of its functions is active.
 */

/* struct __dsu_patch_ref.kind */
#define DSU_REF_FUNC 1   /* a function by (tu, name): its stub's address */
#define DSU_REF_VAR 2    /* a static variable by (tu, name): its address */
#define DSU_REF_SYMBOL 3 /* a global symbol by name (kernel: not exported) */
#define DSU_REF_TYPE 4   /* a wrapped type by (tu, "struct T"): its type descriptor */

struct __dsu_patch_ref {
	unsigned int kind;
	const char *tu; /* DSU_REF_FUNC, DSU_REF_VAR */
	const char *name;
	void **slot;    /* receives the address before the patch runs */
};

/* A function the patch replaces: (tu, name) now runs `fn`. */
struct __dsu_patch_func {
	const char *tu;
	const char *name;
	void *fn;
};

/*
 * A layout change of a wrapped type: instances in version `version - 1`
 * become `version` through `transform`, which gets the new representation
 * zeroed (`to`, in place) and a copy of the old one (`from`).
 */
struct __dsu_patch_type {
	const char *tu;
	const char *name;          /* "struct T" */
	unsigned int version;      /* the version this patch brings */
	unsigned long rep_size;    /* sizeof the new representation (fits data_size) */
	void (*transform)(void *to, const void *from);
};

/* A unit the patch was built against. */
/*
 * Where the patch is unsafe (docs/safety.md), computed by dsu-patchgen from
 * the running build's manifests (the safety analysis) and its change set:
 *   DSU_UNSAFE_POINT: update point `where` ("file:line") must not apply it;
 *   DSU_UNSAFE_FRAME: a kernel stack frame of function `where` at a call of
 *     `callee` ("*": an indirect call, "?": anywhere in it) with `flags`.
 */
#define DSU_UNSAFE_POINT 1
#define DSU_UNSAFE_FRAME 2
#define DSU_FRAME_TYPE 1u   /* the old code after the call uses a changed type concretely */
#define DSU_FRAME_PRIOR 2u  /* the change set meets what ran before the call */
#define DSU_FRAME_FUTURE 4u /* the change set meets what may run after it */
#define DSU_FRAME_TXROOT 8u /* the function is a transaction (a system call) */

struct __dsu_patch_unsafe {
	unsigned int kind;
	unsigned int flags;
	const char *where;
	const char *callee;
	const char *why;
};

struct __dsu_patch_unit {
	const char *tu;
	const char *unit_hash;
};

struct __dsu_patch {
	unsigned int abi;
	unsigned int nunits, nfuncs, nrefs, nnew_funcs, nnew_vars, ntypes;
	const char *name;   /* unique: output name and content hash */
	const char *parent; /* the patch it must be applied on top of; "" = the base */
	const struct __dsu_patch_unit *units;
	const struct __dsu_patch_func *funcs;
	const struct __dsu_patch_ref *refs;
	/* What the patch adds, registered for later patches: */
	struct __dsu_func_desc *const *new_funcs;
	struct __dsu_var_desc *const *new_vars;
	/* Layout changes of wrapped types; a patch with any cannot be reverted
	 * (instances may be in the new layout already). */
	const struct __dsu_patch_type *types;
	/* Set when dsu-patchgen ran the safety analysis: the unsafe table is
	 * then the whole truth for update points (an active replaced function
	 * may keep running its old code where the analysis allows it); without
	 * it the runtimes refuse while replaced code is active. */
	unsigned int analysed, nunsafe;
	const struct __dsu_patch_unsafe *unsafe;
};

#define DSU_PATCH_SYMBOL "__dsu_patch"

#endif /* DSU_ABI_H */
