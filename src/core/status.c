/*-------------------------------------------------------------------------
 *
 * status.c
 *		architect.status() and architect.reset(): the health page of the
 *		extension itself.
 *
 * Contract: architect.status() returns one row per figure (metric, value,
 * unit, description) so that modules can add figures without changing the
 * view's shape.  Rows common to all modules come first, then each module's
 * status callback in module-table order.  Each callback takes whatever lock
 * its own state needs (shared mode or atomics); nothing here locks.
 *
 * architect.reset() calls each module's reset callback.  EXECUTE is revoked
 * from PUBLIC in the install script, as for pg_stat_statements_reset().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/tuplestore.h"

#include "core/pg_architect.h"

PG_FUNCTION_INFO_V1(architect_status);
PG_FUNCTION_INFO_V1(architect_reset);

typedef struct StatusSink
{
	Tuplestorestate *store;
	TupleDesc	desc;
} StatusSink;

static void
status_emit(void *ctx, const char *metric, double value, const char *unit,
			const char *description)
{
	StatusSink *sink = (StatusSink *) ctx;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = CStringGetTextDatum(metric);
	values[1] = DirectFunctionCall1(float8_numeric, Float8GetDatum(value));
	values[2] = CStringGetTextDatum(unit);
	values[3] = CStringGetTextDatum(description);
	tuplestore_putvalues(sink->store, sink->desc, values, nulls);
}

Datum
architect_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StatusSink	sink;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	sink.store = rsinfo->setResult;
	sink.desc = rsinfo->setDesc;

	status_emit(&sink, "preloaded", architect_preloaded ? 1 : 0, "boolean",
				"1 when pg_architect is in shared_preload_libraries; capture needs it");
	/*
	 * The node's role: capture works on both, but on a standby nothing that
	 * writes a table (snapshot, record_advice, import_stats) can run.
	 */
	status_emit(&sink, "standby", RecoveryInProgress() ? 1 : 0, "boolean",
				RecoveryInProgress() ?
				"node role: standby (in recovery, read-only); capture is kept in this node's own data directory" :
				"node role: primary (not in recovery)");
	status_emit(&sink, "shared_memory_reserved_bytes",
				architect_shmem_ready() ? (double) architect_shmem_total_size() : 0,
				"bytes", "shared memory reserved at server start for all modules");
	status_emit(&sink, "server_version_num", PG_VERSION_NUM, "version",
				"PostgreSQL release the library was built for; every feature works alike on "
				"15, 16 (compiled-for, untested), 17 and 18 (see doc/upgrades.md)");

	for (i = 0; i < architect_module_count; i++)
		if (architect_modules[i].status && architect_shmem_ready())
			architect_modules[i].status(status_emit, &sink);

	return (Datum) 0;
}

Datum
architect_reset(PG_FUNCTION_ARGS)
{
	int			i;

	if (architect_shmem_ready())
		for (i = 0; i < architect_module_count; i++)
			if (architect_modules[i].reset)
				architect_modules[i].reset();

	PG_RETURN_VOID();
}
