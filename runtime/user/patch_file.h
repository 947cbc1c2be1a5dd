/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading a patch file the way the trust model allows (docs/patch.md,
 * "Who may update a process"): the file is opened once, checked on that
 * descriptor, recognised as a patch before any of its code can run, and
 * loaded through the same descriptor, so the file checked is the file loaded.
 */
#ifndef DSU_PATCH_FILE_H
#define DSU_PATCH_FILE_H

#include "internal.h"

struct dsu_patch_file {
	int fd;          /* open while the patch is loaded (names the object, see .c) */
	void *handle;    /* dlopen handle */
	char name[64];   /* "/proc/self/fd/N": the name the dynamic linker knows it by */
};

/* Opens, checks and loads PATH. 0 = loaded; -1 = refused, why in msg,
 * nothing of the file has run and nothing stays open. */
DSU_HIDDEN int dsu_patch_file_load(const char *path, struct dsu_patch_file *pf, char *msg, unsigned long len);

/* The patch was applied: its code may be pointed at from the program's data
 * for the rest of the process's life, so it is never unmapped (RTLD_NODELETE)
 * and its descriptor stays open. */
DSU_HIDDEN void dsu_patch_file_keep(struct dsu_patch_file *pf);

/* The patch was not applied (refused, cancelled): unloaded and closed. */
DSU_HIDDEN void dsu_patch_file_unload(struct dsu_patch_file *pf);

#endif
