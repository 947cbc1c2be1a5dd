/* A stand-in for the runtime's slow path (runtime/user/dsu_user.c), so that
 * wrapped units link on their own in tests: marks fresh instances. */
#include "../../../../runtime/include/dsu/abi.h"
int dsu_test_slow_calls; /* how often the slow path ran */
void __dsu_type_slow(struct __dsu_type_desc *type, void *obj, unsigned int expected)
{
	unsigned int *version = obj, *tag = version + 1;
	dsu_test_slow_calls++;
	if ((*version & ~DSU_TYPE_VERSION_MASK) != DSU_TYPE_MAGIC || *tag != type->tag) {
		*version = DSU_TYPE_MAGIC | type->version_now;
		*tag = type->tag;
	}
	(void)expected;
}
