/*-------------------------------------------------------------------------
 *
 * hypo_gin.c
 *		Size of a hypothetical GIN index, from a sample of the table run
 *		through the operator class's own extractValue function.
 *
 * Contract.  hypo_gin_estimate_size() sets pages, tree_height and
 * size_bytes of a HypoIndex whose access method is gin (hypo_index.c calls
 * it from hypo_from_sql).  The planner's gincostestimate never reads a
 * hypothetical index: with IndexOptInfo.hypothetical set it skips
 * ginGetStats and invents its entry/data page split from index->pages
 * (90 % entry pages, 100 entries per entry page), so the page count is the
 * one input that matters, and it is what this file estimates.
 *
 * How.  Statistics do not say how many keys a value yields (a document's
 * jsonb keys and values, a string's trigrams, a tsvector's lexemes), so up
 * to HYPO_GIN_SAMPLE_ROWS rows are read from HYPO_GIN_CHUNKS block ranges
 * drawn at random, one in each 1/30 of the table, and each indexed value
 * is passed to the
 * opclass's extractValue support function (GIN_EXTRACTVALUE_PROC), exactly
 * what a build does.  From the sample: keys per row (k), the average key
 * size, and the distinct keys, scaled to the table with the Haas-Stokes
 * Duj1 estimator ANALYZE uses (n d / (n - f1 + f1 n / N) over key
 * occurrences).  The index is then
 *	 posting list:	 a key's rows as varbyte-compressed TID deltas, as
 *					 ginpostinglist.c codes them; the bytes per delta follow
 *					 from how often the next row with the key is on the same
 *					 heap page (1 byte) or d pages on (2-5 bytes), see
 *					 hypo_gin_tid_bytes
 *	 entry tuples:	 MAXALIGN(8 + key size + posting list) + a line pointer,
 *					 packed whole onto pages at 90 % fill, when the list fits
 *					 in a tuple (a third of a page); else the list goes to a
 *					 posting tree at 30 % fill (measured after CREATE INDEX,
 *					 see HYPO_GIN_TREE_FILL)
 *	 pages:			 their sum, plus 1 % inner pages, the metapage and root.
 * Keys a sampled row gives are weighted by how many rows of the table that
 * key's sample count stands for, so frequent keys (dense posting lists, one
 * byte per TID) and rare ones (three or four) are costed apart.
 *
 * Safety.  Only functions that cannot have been written by an ordinary
 * role are called while sampling: extractValue and every function of an
 * expression column must be internal or C-language (creating those needs
 * superuser); otherwise the size falls back to the column's average width
 * / 8 keys per row.  The caller already holds AccessShareLock on the table
 * and has been checked for SELECT on it (hypo_open_table).  Sampling reads
 * under the active snapshot; nothing is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/gin_private.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_language_d.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_proc.h"
#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "whatif/whatif.h"

#define HYPO_GIN_SAMPLE_ROWS	3000
#define HYPO_GIN_CHUNKS			30
#define HYPO_GIN_FILL			0.90

/*
 * Fill of posting-tree leaf pages after a build, measured with pageinspect
 * on PostgreSQL 15 (gin_leafpage_items: 2.7-3.1 kB of compressed TIDs per
 * 8 kB page after CREATE INDEX, 0.27-0.34 depending on how many times the
 * build flushed maintenance_work_mem): the build appends to the right end of
 * each posting tree in batches and every split leaves the old page part
 * empty.
 */
#define HYPO_GIN_TREE_FILL		0.30
/* a posting list longer than this (bytes) moves out of the entry tuple */
#define HYPO_GIN_INLINE_MAX		(BLCKSZ / 3)

/* one distinct key of the sample: its hash and how often it was seen */
typedef struct GinKeyCount
{
	uint32		hash;
	int			count;
} GinKeyCount;

/* a function an ordinary role cannot have written: internal or C */
static bool
hypo_trusted_func(Oid funcid, void *context)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Oid			lang;

	if (!HeapTupleIsValid(tup))
		return true;			/* "not trusted" for check_functions_in_node */
	lang = ((Form_pg_proc) GETSTRUCT(tup))->prolang;
	ReleaseSysCache(tup);
	return lang != INTERNALlanguageId && lang != ClanguageId;
}

/* the type of the keys an opclass stores (opckeytype, else the input) */
static Oid
hypo_opclass_keytype(Oid opclass, Oid intype)
{
	HeapTuple	tup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
	Oid			keytype = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		keytype = ((Form_pg_opclass) GETSTRUCT(tup))->opckeytype;
		ReleaseSysCache(tup);
	}
	return OidIsValid(keytype) ? keytype : intype;
}

typedef struct GinSample
{
	double		rows;			/* sampled rows */
	double		keys;			/* key occurrences (n) */
	double		keybytes;		/* their total size */
	HTAB	   *distinct;		/* GinKeyCount by hash */
} GinSample;

/* Add the keys extractValue gives for one value of column col. */
static void
hypo_gin_add_value(HypoIndex *h, int col, Oid extract, Oid keytype, Datum value,
				   GinSample *gs)
{
	int32		nentries = 0;
	bool	   *nullflags = NULL;
	Datum	   *entries;
	int16		typlen;
	bool		typbyval;
	int			i;

	entries = (Datum *) DatumGetPointer(OidFunctionCall3Coll(extract, h->indexcollations[col],
															 value,
															 PointerGetDatum(&nentries),
															 PointerGetDatum(&nullflags)));
	get_typlenbyval(keytype, &typlen, &typbyval);
	for (i = 0; i < nentries; i++)
	{
		Size		sz;
		uint32		hash;
		GinKeyCount *kc;
		bool		found;

		if (nullflags && nullflags[i])
			continue;
		sz = datumGetSize(entries[i], typbyval, typlen);
		if (typbyval)
			hash = hash_bytes_uint32((uint32) DatumGetInt64(entries[i]));
		else
			hash = hash_bytes((const unsigned char *) DatumGetPointer(entries[i]), (int) sz);
		hash ^= (uint32) col * 0x9e3779b9U;
		kc = hash_search(gs->distinct, &hash, HASH_ENTER, &found);
		if (!found)
			kc->count = 0;
		kc->count++;
		gs->keys++;
		gs->keybytes += sz;
	}
}

/*
 * Read up to HYPO_GIN_SAMPLE_ROWS rows from evenly spread chunks of the
 * table and feed each indexed value to extractValue.  Returns false when a
 * function involved is not trusted (see the header comment).
 */
static bool
hypo_gin_sample(HypoIndex *h, BlockNumber heap_pages, GinSample *gs)
{
	Relation	rel;
	EState	   *estate;
	ExprContext *econtext;
	TupleTableSlot *slot;
	Oid		   *extract = palloc0(sizeof(Oid) * h->nkeycolumns);
	Oid		   *keytype = palloc0(sizeof(Oid) * h->nkeycolumns);
	ExprState **states = palloc0(sizeof(ExprState *) * h->nkeycolumns);
	int			chunk;
	int			per_chunk = HYPO_GIN_SAMPLE_ROWS / HYPO_GIN_CHUNKS;
	BlockNumber nblocks;
	pg_prng_state prng;
	int			i;

	for (i = 0; i < h->nkeycolumns; i++)
	{
		extract[i] = get_opfamily_proc(h->opfamily[i], h->opcintype[i], h->opcintype[i],
									   GIN_EXTRACTVALUE_PROC);
		if (!OidIsValid(extract[i]) || hypo_trusted_func(extract[i], NULL))
			return false;
		if (h->indexkeys[i] == 0 &&
			check_functions_in_node(h->exprs[i], hypo_trusted_func, NULL))
			return false;
		keytype[i] = hypo_opclass_keytype(h->opclass[i], h->opcintype[i]);
	}

	rel = table_open(h->relid, AccessShareLock);
	nblocks = RelationGetNumberOfBlocks(rel);
	pg_prng_seed(&prng, (uint64) h->relid);
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = table_slot_create(rel, NULL);
	econtext->ecxt_scantuple = slot;
	for (i = 0; i < h->nkeycolumns; i++)
		if (h->indexkeys[i] == 0)
			states[i] = ExecPrepareExpr((Expr *) h->exprs[i], estate);

	for (chunk = 0; chunk < HYPO_GIN_CHUNKS && nblocks > 0; chunk++)
	{
		double		width = (double) nblocks / HYPO_GIN_CHUNKS;
		BlockNumber start;
		TableScanDesc scan;
		int			got = 0;

		/*
		 * A block drawn at random within each tenth of the table, from a
		 * generator seeded with the table's OID: repeatable, and not in step
		 * with periodic data.
		 */
		start = (BlockNumber) (width * chunk + pg_prng_double(&prng) * width);
		if (start >= nblocks)
			break;
		scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
		if (rel->rd_rel->relam == HEAP_TABLE_AM_OID)
			heap_setscanlimits(scan, start, nblocks - start);
		while (got < per_chunk && table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			ResetExprContext(econtext);
			for (i = 0; i < h->nkeycolumns; i++)
			{
				Datum		v;
				bool		isnull;

				if (h->indexkeys[i] != 0)
					v = slot_getattr(slot, h->indexkeys[i], &isnull);
				else
					v = ExecEvalExprSwitchContext(states[i], econtext, &isnull);
				if (!isnull)
				{
					MemoryContext old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);

					hypo_gin_add_value(h, i, extract[i], keytype[i], v, gs);
					MemoryContextSwitchTo(old);
				}
			}
			gs->rows++;
			got++;
			CHECK_FOR_INTERRUPTS();
		}
		table_endscan(scan);
		if (rel->rd_rel->relam != HEAP_TABLE_AM_OID)
			break;				/* no scan limits: one chunk from the start */
	}
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	table_close(rel, AccessShareLock);
	return true;
}

/*
 * Average bytes of one varbyte-coded TID delta in the posting list of a key
 * that "postings" of the table's "rows" rows (on heap_pages pages) hold.
 * A TID is coded as block << 11 | offset (ginpostinglist.c), 7 bits a byte:
 * the next row of the key on the same heap page is a delta under 128 (1
 * byte); d pages further on it is about d * 2048 (2 bytes for d < 8, 3 for
 * d < 1024, 4 for d < 131072, else 5).  With the key on a fraction f of the
 * rows and R rows a page, the next row is on the same page with
 * probability 1 - (1 - f)^(R/2), and the page distance is geometric with
 * P(a page holds the key) = 1 - (1 - f)^R.
 */
static double
hypo_gin_tid_bytes(double postings, double rows, BlockNumber heap_pages)
{
	double		f = Min(1.0, postings / Max(rows, 1.0));
	double		per_page = Max(1.0, rows / Max((double) heap_pages, 1.0));
	double		same = 1 - pow(1 - f, per_page / 2);
	double		hit = Max(1e-12, 1 - pow(1 - f, per_page));
	double		lt8 = 1 - pow(1 - hit, 7);
	double		lt1k = 1 - pow(1 - hit, 1023);
	double		lt128k = 1 - pow(1 - hit, 131071);

	return same + (1 - same) * (2 * lt8 + 3 * (lt1k - lt8) + 4 * (lt128k - lt1k) +
								5 * (1 - lt128k));
}

/*
 * Pages that "keys" keys of "postings" rows each take: the entry tuple
 * holds the key and, when it fits (GinMaxItemSize, a third of a page), the
 * compressed posting list, entry tuples packed whole onto pages filled to
 * HYPO_GIN_FILL (two 2.7 kB tuples a page, not three); a longer list goes
 * to a posting tree at HYPO_GIN_TREE_FILL.
 */
static double
hypo_gin_pages(double keys, double postings, double keysize, double rows,
			   BlockNumber heap_pages)
{
	double		full = BLCKSZ - SizeOfPageHeaderData - MAXALIGN(sizeof(GinPageOpaqueData));
	double		list = postings * hypo_gin_tid_bytes(postings, rows, heap_pages);
	double		tuple = MAXALIGN(sizeof(IndexTupleData) + keysize) + sizeof(ItemIdData);
	double		tree = 0;

	if (list > HYPO_GIN_INLINE_MAX)
		tree = keys * ceil(list / (full * HYPO_GIN_TREE_FILL));
	else
		tuple = MAXALIGN(sizeof(IndexTupleData) + keysize + list) + sizeof(ItemIdData);
	return tree + keys / Max(1.0, floor(full * HYPO_GIN_FILL / tuple));
}

void
hypo_gin_estimate_size(HypoIndex *h, BlockNumber heap_pages)
{
	GinSample	gs;
	HASHCTL		ctl;
	double		rows = Max(h->tuples, 1.0);
	double		keys_per_row;
	double		keysize;
	double		postings;
	double		distinct;
	double		pages = 0;

	memset(&gs, 0, sizeof(gs));
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(GinKeyCount);
	ctl.hcxt = CurrentMemoryContext;
	gs.distinct = hash_create("hypothetical gin keys", 4096, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	if (hypo_gin_sample(h, heap_pages, &gs) && gs.rows > 0 && gs.keys > 0)
	{
		double		n = gs.keys;
		double		d = hash_get_num_entries(gs.distinct);
		double		f1 = 0;
		double		frequent_post = 0;
		double		frequent_keys = 0;
		HASH_SEQ_STATUS st;
		GinKeyCount *kc;

		keys_per_row = gs.keys / gs.rows;
		keysize = gs.keybytes / gs.keys;
		postings = rows * keys_per_row;

		hash_seq_init(&st, gs.distinct);
		while ((kc = hash_seq_search(&st)) != NULL)
		{
			if (kc->count == 1)
				f1++;
			else
			{
				/* a key seen c times in the sample: c / n of all postings */
				double		p = kc->count * postings / n;

				frequent_keys++;
				frequent_post += p;
				pages += hypo_gin_pages(1, p, gs.keybytes / gs.keys, rows, heap_pages);
			}
		}
		/* Duj1, as ANALYZE estimates n_distinct */
		if (postings <= n || f1 == 0)
			distinct = d;
		else
			distinct = (n * d) / ((n - f1) + f1 * n / postings);
		distinct = Min(Max(distinct, d), postings);
		/* the rest of the postings, shared by the keys seen once */
		if (distinct > frequent_keys && postings > frequent_post)
		{
			double		rare_keys = distinct - frequent_keys;
			double		rare_post = postings - frequent_post;

			pages += hypo_gin_pages(rare_keys, rare_post / rare_keys, keysize, rows,
									heap_pages);
		}
	}
	else
	{
		/* untrusted code or an empty table: a key per 8 bytes of value */
		int32		w = h->indexkeys[0] != 0 ? get_attavgwidth(h->relid, h->indexkeys[0]) : 0;

		if (w <= 0)
			w = get_typavgwidth(h->atttype[0], h->atttypmod[0]);
		keys_per_row = Max(1.0, w / 8.0);
		keysize = 8;
		postings = rows * keys_per_row;
		distinct = Min(postings, Max(rows / 10.0, 1.0));
		pages = hypo_gin_pages(distinct, postings / distinct, keysize, rows, heap_pages);
	}

	pages = ceil(pages);
	pages += ceil(pages / 100.0);	/* inner pages of the entry and posting trees */
	pages += 2;					/* metapage and root */
	h->pages = (BlockNumber) Min(pages, (double) MaxBlockNumber);
	h->size_bytes = (double) h->pages * BLCKSZ;
	h->tree_height = -1;
	ereport(DEBUG1,
			(errmsg_internal("hypothetical gin: %.0f sampled rows, %.2f keys per row, %.1f bytes per key, %.0f distinct keys, %u pages",
							 gs.rows, keys_per_row, keysize, distinct, h->pages)));
	hash_destroy(gs.distinct);
}
