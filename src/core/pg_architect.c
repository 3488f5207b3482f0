/*-------------------------------------------------------------------------
 *
 * pg_architect.c
 *		Library entry point: the module table and _PG_init.
 *
 * Contract: _PG_init runs once per process that loads the library, either
 * from shared_preload_libraries (postmaster, then inherited by every child)
 * or lazily when a session first calls one of our functions (a managed
 * instance that only allows CREATE EXTENSION).  In the second case there is
 * no shared memory and no collector: every module still defines its
 * session-level GUCs and hooks, and capture views report that they need a
 * preload (see architect_require_capture in shmem.c).
 *
 * No locking here; each module documents its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "core/pg_architect.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* True when loaded through shared_preload_libraries. */
bool		architect_preloaded = false;

/*
 * Order matters only for hook chaining: modules installed later run first.
 * capture is installed last so that its timing wraps the DDL guard's
 * checks as a DBA would see them in the statement's duration.
 */
const ArchitectModule architect_modules[] = {
	{"ddl_guard", ddl_guard_init, ddl_guard_shmem_size, ddl_guard_shmem_startup,
	ddl_guard_status, ddl_guard_reset},
	{"whatif", whatif_init, NULL, NULL, NULL, NULL},
	{"advisor", advisor_init, NULL, NULL, NULL, NULL},
	{"migrate", migrate_init, NULL, NULL, NULL, NULL},
	{"capture", capture_init, capture_shmem_size, capture_shmem_startup,
	capture_status, capture_reset},
};
const int	architect_module_count = lengthof(architect_modules);

void
_PG_init(void)
{
	int			i;

	architect_preloaded = process_shared_preload_libraries_in_progress;

	for (i = 0; i < architect_module_count; i++)
		if (architect_modules[i].init)
			architect_modules[i].init();

	if (architect_preloaded)
		architect_shmem_install_hooks();
}
