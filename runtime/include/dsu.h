/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DSU user-space runtime's API for programs built with dsu-cc (which
 * finds this header and links the runtime in without extra flags).
 *
 * Updates are requested from outside with `dsuctl apply PID PATCH.so` /
 * `dsuctl revert PID` and happen at update points: calls to dsu_update()
 * that the program makes where it is safe to switch code, typically at the
 * top of its main loop, as in Ginseng.
 */
#ifndef DSU_H
#define DSU_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An update point. Applies or reverts the patch dsuctl asked for, unless a
 * function it would replace is active on this thread's stack here (then the
 * request waits for the next update point). Returns the number of updates
 * done (usually 0). When nothing is pending it costs one atomic load.
 */
int dsu_update(void);

/*
 * Applies the patch in shared object `path` right here (an update point the
 * program chooses), or reverts the newest one. 0 on success; -1 with a
 * message in msg otherwise (nothing changed).
 */
int dsu_apply_file(const char *path, char *msg, unsigned long msglen);
int dsu_revert_newest(char *msg, unsigned long msglen);

/* Patches applied now (0 = the program as built). */
unsigned int dsu_patch_level(void);

/*
 * The value a field a patch adds to a wrapped struct gets in instances that
 * exist when the patch is applied (otherwise zero), e.g.
 *   struct client { int fd; unsigned long limit DSU_DEFAULT(4096); };
 * dsu-patchgen's transformer reads it; the program's layout is unaffected.
 * The value is an expression over constants and the unit's declarations.
 */
#define DSU_DEFAULT(value) __attribute__((__annotate__("dsu_default=" DSU_STRINGIFY_(value))))
#define DSU_STRINGIFY_(x) #x

#ifdef __cplusplus
}
#endif

#endif /* DSU_H */
