/*-------------------------------------------------------------------------
 *
 * pg_architect.h
 *		What the modules of pg_architect share: the module table that
 *		_PG_init and the shared-memory hooks walk, the status-row emitter,
 *		and the few process-wide flags.
 *
 * Each concern lives in its own folder src/<area>/ and exposes at most five
 * entry points through ArchitectModule: init (GUCs and hooks, called from
 * _PG_init), shmem_size and shmem_startup (its share of the one shared
 * segment), status (rows for architect.status) and reset (for
 * architect.reset()).  A module without shared state leaves the last four
 * NULL.  Adding a module = one line in the table in pg_architect.c.
 *
 * Locking: the named LWLocks of the one "pg_architect" tranche are listed
 * here (ARCHITECT_LOCK_*); each belongs to one module, which documents its
 * protocol (capture.h, ddl_guard.c).  Included by every area; it includes
 * no area header, so no area depends on another through it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_ARCHITECT_H
#define PG_ARCHITECT_H

#include "postgres.h"

#include "fmgr.h"
#include "storage/lwlock.h"

/* One row of architect.status. */
typedef void (*StatusEmitFn) (void *ctx, const char *metric, double value,
							  const char *unit, const char *description);

typedef struct ArchitectModule
{
	const char *name;
	void		(*init) (void);
	Size		(*shmem_size) (void);
	void		(*shmem_startup) (void);
	void		(*status) (StatusEmitFn emit, void *ctx);
	void		(*reset) (void);
} ArchitectModule;

/* pg_architect.c */
extern bool architect_preloaded;

/* shmem.c */
extern void architect_shmem_install_hooks(void);
extern bool architect_shmem_ready(void);
extern Size architect_shmem_total_size(void);
extern void *architect_shmem_alloc(const char *what, Size size, bool *found);
extern bool architect_require_capture(const char *what);
extern LWLock *architect_lwlock(int which);

/* The named LWLocks of the "pg_architect" tranche. */
#define ARCHITECT_LOCK_STATS		0	/* statement/plan/scan tables */
#define ARCHITECT_LOCK_CONSUMER		1	/* the single ring consumer */
#define ARCHITECT_LOCK_DDL_LOG		2	/* architect.ddl_log ring */
#define ARCHITECT_LOCK_SPARE		3
#define ARCHITECT_NUM_LWLOCKS		4

/* The module table, defined in pg_architect.c. */
extern const ArchitectModule architect_modules[];
extern const int architect_module_count;

/* capture.c */
extern void capture_init(void);
extern Size capture_shmem_size(void);
extern void capture_shmem_startup(void);
extern void capture_status(StatusEmitFn emit, void *ctx);
extern void capture_reset(void);

/* ddl_guard.c */
extern void ddl_guard_init(void);
extern Size ddl_guard_shmem_size(void);
extern void ddl_guard_shmem_startup(void);
extern void ddl_guard_status(StatusEmitFn emit, void *ctx);
extern void ddl_guard_reset(void);

/* whatif.c */
extern void whatif_init(void);

/* advisor.c */
extern void advisor_init(void);

/* migrate.c */
extern void migrate_init(void);

/* Version guards for hook signatures that moved between releases. */
#if PG_VERSION_NUM < 150000
#error "pg_architect requires PostgreSQL 15 or later"
#endif

#endif							/* PG_ARCHITECT_H */
