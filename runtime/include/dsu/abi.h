/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DSU ABI: the single definition of what code rewritten by dsu-cc, the
 * runtime (user space and kernel) and generated patches share.
 *
 * dsu-cc pastes this header's text verbatim at the top of every rewritten
 * translation unit (the unit is already preprocessed, so it cannot #include
 * it), which is why it must stay self-contained: no #include, valid C89-with-
 * GNU-extensions in both user space and the kernel.
 *
 * For every updateable function f of a translation unit the rewrite emits
 *   __dsu_v0_f   the original body (version 0), internal linkage
 *   __dsu_fp_f   the pointer every instrumented call goes through
 *                (same linkage as f)
 *   f            a stub with f's prototype, linkage and address that calls
 *                through __dsu_fp_f, so ops tables, EXPORT_SYMBOL, assembly
 *                and uninstrumented callers keep working
 *   __dsu_desc_f a struct __dsu_func_desc describing the above.
 */
#ifndef DSU_ABI_H
#define DSU_ABI_H

/* Bumped on any incompatible change to the structures below. */
#define DSU_ABI_VERSION 1

/*
 * Section holding every struct __dsu_func_desc of a user-space program; the
 * linker provides __start___dsu_funcs / __stop___dsu_funcs around it.
 * Kernel objects place descriptors in .data instead (an unknown section in
 * vmlinux would be an orphan section, which the kernel link warns about),
 * and the kernel runtime finds them by symbol.
 */
#define DSU_FUNC_SECTION "__dsu_funcs"

/* Name prefixes of the generated symbols. */
#define DSU_BODY_PREFIX "__dsu_v0_"
#define DSU_PTR_PREFIX "__dsu_fp_"
#define DSU_DESC_PREFIX "__dsu_desc_"

struct __dsu_func_desc {
	unsigned int abi;     /* DSU_ABI_VERSION of the code that emitted it */
	unsigned int version; /* version now installed in *ptr; 0 = as built */
	const char *name;     /* source-level name of the function */
	const char *tu;       /* translation unit: source path as compiled */
	void **ptr;           /* &__dsu_fp_<name> */
	void *body;           /* __dsu_v0_<name>: the version-0 body */
	void *stub;           /* <name>: the address the rest of the world sees */
};

#endif /* DSU_ABI_H */
