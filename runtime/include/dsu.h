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
 * An update point: dsu_update() is dsu_update_point(__FILE_NAME__, __LINE__),
 * and the point is known by that "file:line" (the file's base name, so that
 * the same source built elsewhere names it alike) to the safety analysis
 * (dsu-analyze) and to patches. Applies or reverts the patch dsuctl asked for when it is
 * safe here: the patch says at which points it is not (a type it changes is
 * used concretely after the point, or a transaction around it would mix
 * versions; docs/safety.md), and with no such data the runtime refuses while
 * a function it would replace is active on this thread's stack. In a program
 * with several threads that reach update points, the update waits until
 * every one of them is at a safe point (they park there; a thread that has
 * not reached one for DSU_PARK_MS ms releases them and the request waits).
 * Returns the number of updates done (usually 0). When nothing is pending it
 * costs one atomic load.
 */
int dsu_update_point(const char *file, int line);
#define dsu_update() dsu_update_point(__FILE_NAME__, __LINE__)

/*
 * Asks for the patch in shared object `path` to be applied at the next update
 * points where it is safe, as `dsuctl apply` does (without waiting). 0 when
 * the request is pending; -1 with a message otherwise (nothing changed).
 */
int dsu_request(const char *path, char *msg, unsigned long msglen);

/*
 * Whether a request is pending (1) or not (0, and `why` gets the result of
 * the last one); `why` says what the pending one waits for.
 */
int dsu_pending(char *why, unsigned long whylen);

/*
 * Marks a function as a transaction (Neamtiu et al.'s contextual effects):
 * an update may happen at a point inside it only when the update's change
 * set misses everything the transaction may have done before the point, or
 * everything it may do after it (version consistency).
 *   DSU_TRANSACTION static void handle_request(struct request *r) { ... }
 */
#define DSU_TRANSACTION __attribute__((__annotate__("dsu_transaction")))

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
