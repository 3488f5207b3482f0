/*-------------------------------------------------------------------------
 *
 * ddl_guard.c
 *		DDL guard: classify DDL before it runs (scaffold; see issue 8).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pg_architect.h"

void
ddl_guard_init(void)
{
}

Size
ddl_guard_shmem_size(void)
{
	return 0;
}

void
ddl_guard_shmem_startup(void)
{
}

void
ddl_guard_status(StatusEmitFn emit, void *ctx)
{
}

void
ddl_guard_reset(void)
{
}
