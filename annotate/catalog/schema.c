/* schema.c: the catalog's schema, as the forward migrations that build it: migration N brings a
 * catalog from PRAGMA user_version N-1 to N, in one transaction. A catalog written by a newer
 * Quorum is refused, never changed. */
#define G_LOG_DOMAIN "quorum-catalog"

#include "catalog-private.h"

/* Migration N brings a catalog from user_version N-1 to N. Never edit a released one: add more. */
static const char *const migrations[] = {
  /* 1: the first schema. */
  "CREATE TABLE collection ("
  "  key TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL);"
  "CREATE TABLE images ("
  "  id INTEGER PRIMARY KEY,"
  "  path TEXT NOT NULL UNIQUE,"
  "  size INTEGER NOT NULL,"
  "  mtime_us INTEGER NOT NULL,"
  "  width INTEGER NOT NULL DEFAULT 0,"
  "  height INTEGER NOT NULL DEFAULT 0,"
  "  orientation INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),"
  "  format TEXT,"
  "  hash TEXT,"
  "  state TEXT NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'unreadable', 'missing')),"
  "  reason TEXT,"
  "  added_us INTEGER NOT NULL,"
  "  updated_us INTEGER NOT NULL);"
  "CREATE INDEX images_hash ON images (hash);"
  "CREATE INDEX images_state ON images (state, path);"
  "CREATE TABLE classes ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE CHECK (length (name) > 0));"
  "CREATE TABLE models ("
  "  id INTEGER PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE,"
  "  kind TEXT NOT NULL,"
  "  location TEXT,"
  "  enabled INTEGER NOT NULL DEFAULT 1,"
  "  added_us INTEGER NOT NULL);"
  "CREATE TABLE runs ("
  "  id INTEGER PRIMARY KEY,"
  "  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,"
  "  params TEXT,"
  "  state TEXT NOT NULL DEFAULT 'running'"
  "    CHECK (state IN ('running', 'done', 'cancelled', 'failed')),"
  "  started_us INTEGER NOT NULL,"
  "  finished_us INTEGER);"
  "CREATE TABLE run_images ("
  "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  PRIMARY KEY (run_id, image_id)) WITHOUT ROWID;"
  "CREATE TABLE detections ("
  "  id INTEGER PRIMARY KEY,"
  "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  class_id INTEGER NOT NULL REFERENCES classes (id),"
  "  score REAL NOT NULL,"
  "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
  "  CHECK (x2 >= x1 AND y2 >= y1));"
  "CREATE INDEX detections_image ON detections (image_id, run_id);"
  "CREATE INDEX detections_run ON detections (run_id);"
  "CREATE TABLE labels ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  class_id INTEGER NOT NULL REFERENCES classes (id),"
  "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
  "  source TEXT NOT NULL CHECK (source IN ('imported', 'drawn', 'accepted')),"
  "  provenance TEXT,"
  "  detection_id INTEGER REFERENCES detections (id) ON DELETE SET NULL,"
  "  created_us INTEGER NOT NULL,"
  "  modified_us INTEGER NOT NULL,"
  "  deleted_us INTEGER,"
  "  CHECK (x2 >= x1 AND y2 >= y1));"
  "CREATE INDEX labels_image ON labels (image_id) WHERE deleted_us IS NULL;"
  "CREATE TABLE review ("
  "  image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,"
  "  state TEXT NOT NULL CHECK (state IN ('unreviewed', 'reviewed', 'skipped')),"
  "  updated_us INTEGER NOT NULL);"
  "CREATE TABLE thumbnails ("
  "  image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,"
  "  max_side INTEGER NOT NULL,"
  "  width INTEGER NOT NULL,"
  "  height INTEGER NOT NULL,"
  "  source_mtime_us INTEGER NOT NULL,"
  "  jpeg BLOB NOT NULL);",

  /* 2: crowd regions (COCO's iscrowd) on labels, and captions for image–text work. */
  "ALTER TABLE labels ADD COLUMN iscrowd INTEGER NOT NULL DEFAULT 0;"
  "CREATE TABLE captions ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  text TEXT NOT NULL,"
  "  source TEXT,"
  "  created_us INTEGER NOT NULL);"
  "CREATE INDEX captions_image ON captions (image_id);",

  /* 3: the review queue (peer pressure's ranked items, replaced when recomputed) and the
   *    decisions taken on them, kept for good: an item whose key has a live decision has left
   *    the queue, and stays out when the queue is recomputed. */
  "CREATE TABLE mistakes ("
  "  id INTEGER PRIMARY KEY,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  item_key TEXT NOT NULL,"
  "  kind TEXT NOT NULL,"
  "  score REAL NOT NULL,"
  "  class_id INTEGER REFERENCES classes (id),"
  "  label_id INTEGER,"
  "  label_class_id INTEGER,"
  "  peer TEXT,"
  "  x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,"
  "  votes TEXT NOT NULL);"
  "CREATE INDEX mistakes_image ON mistakes (image_id);"
  "CREATE INDEX mistakes_key ON mistakes (item_key);"
  "CREATE TABLE decisions ("
  "  id INTEGER PRIMARY KEY,"
  "  item_key TEXT NOT NULL,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  kind TEXT NOT NULL,"
  "  decision TEXT NOT NULL CHECK (decision IN ('accepted', 'kept', 'edited', 'skipped')),"
  "  label_id INTEGER,"
  "  who TEXT NOT NULL,"
  "  at_us INTEGER NOT NULL,"
  "  undone_us INTEGER);"
  "CREATE INDEX decisions_key ON decisions (item_key) WHERE undone_us IS NULL;",

  /* 4: model boxes rejected in the viewer (R/X), kept so they stay rejected. */
  "CREATE TABLE rejections ("
  "  detection_id INTEGER PRIMARY KEY REFERENCES detections (id) ON DELETE CASCADE,"
  "  who TEXT NOT NULL,"
  "  at_us INTEGER NOT NULL);",

  /* 5: a peer trained out of fold: it only votes on the fold it did not see (qr_image_fold). */
  "ALTER TABLE models ADD COLUMN held_out_fold INTEGER;"
  "ALTER TABLE models ADD COLUMN n_folds INTEGER;"
  "ALTER TABLE models ADD COLUMN fold_seed INTEGER NOT NULL DEFAULT 0;",

  /* 6: captions edited and deleted with undo (soft deletes, as labels), and caption items in the
   *    review queue: the caption they are about and why. */
  "ALTER TABLE captions ADD COLUMN modified_us INTEGER;"
  "ALTER TABLE captions ADD COLUMN deleted_us INTEGER;"
  "ALTER TABLE mistakes ADD COLUMN caption_id INTEGER;"
  "ALTER TABLE mistakes ADD COLUMN reason TEXT;",

  /* 7: the caption model (DMSM): each image's backbone features (float16), the models trained on
   *    the collection's captions (a row per training run; the newest ready one is used), and each
   *    model's image embeddings (float16) for search. */
  "CREATE TABLE image_features ("
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  backbone TEXT NOT NULL,"
  "  data BLOB NOT NULL,"
  "  PRIMARY KEY (image_id, backbone)) WITHOUT ROWID;"
  "CREATE TABLE text_models ("
  "  id INTEGER PRIMARY KEY,"
  "  kind TEXT NOT NULL,"
  "  state TEXT NOT NULL DEFAULT 'training' CHECK (state IN ('training', 'ready', 'retired')),"
  "  backbone TEXT NOT NULL,"
  "  vocabulary_hash TEXT NOT NULL,"
  "  fold_seed INTEGER NOT NULL,"
  "  epoch INTEGER NOT NULL DEFAULT 0,"
  "  epochs INTEGER NOT NULL,"
  "  metrics TEXT,"
  "  model BLOB,"
  "  trainer BLOB,"
  "  created_us INTEGER NOT NULL,"
  "  updated_us INTEGER NOT NULL);"
  "CREATE TABLE image_embeddings ("
  "  model_id INTEGER NOT NULL REFERENCES text_models (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  data BLOB NOT NULL,"
  "  PRIMARY KEY (model_id, image_id)) WITHOUT ROWID;",

  /* 8: imports remembered by what they held (a digest of the parsed dataset), so that importing
   *    the same dataset again is noticed; labels and captions name their import in provenance
   *    ("import N: …"). */
  "CREATE TABLE imports ("
  "  id INTEGER PRIMARY KEY,"
  "  digest TEXT NOT NULL,"
  "  format TEXT NOT NULL,"
  "  path TEXT NOT NULL,"
  "  labels INTEGER NOT NULL,"
  "  captions INTEGER NOT NULL,"
  "  at_us INTEGER NOT NULL);"
  "CREATE INDEX imports_digest ON imports (digest);",
  /* 9: shards merged (merge.c): each shard's run (by model, parameters and start), the shard file
   *    it came from, and the run of this catalog it went into (one per model and parameters for
   *    each generation of shard runs), with the shard run's state. */
  "CREATE TABLE merged_runs ("
  "  source TEXT PRIMARY KEY,"
  "  grouping TEXT NOT NULL,"
  "  shard TEXT NOT NULL,"
  "  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
  "  state TEXT NOT NULL);"
  "CREATE INDEX merged_runs_grouping ON merged_runs (grouping);",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == QR_CATALOG_SCHEMA_VERSION);

gboolean
qr_catalog_migrate (QrCatalog *self, GError **error)
{
  sqlite3_stmt *stmt;
  int version = 0;

  if (sqlite3_prepare_v2 (self->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK)
    return qr_catalog_sql_error (self, error, "reading the schema version");
  if (sqlite3_step (stmt) == SQLITE_ROW)
    version = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);

  if (version > QR_CATALOG_SCHEMA_VERSION)
    {
      g_set_error (error, QR_CATALOG_ERROR, QR_CATALOG_ERROR_VERSION,
                   "%s: catalog schema version %d was written by a newer Quorum (this one knows up to %d)",
                   self->db_path, version, QR_CATALOG_SCHEMA_VERSION);
      return FALSE;
    }
  for (int next = version + 1; next <= QR_CATALOG_SCHEMA_VERSION; next++)
    {
      g_autofree char *set_version = g_strdup_printf ("PRAGMA user_version = %d", next);

      g_debug ("migrating %s to schema %d", self->db_path, next);
      if (!qr_catalog_exec (self, "BEGIN IMMEDIATE", error))
        return FALSE;
      if (!qr_catalog_exec (self, migrations[next - 1], error) || !qr_catalog_exec (self, set_version, error))
        {
          qr_catalog_exec (self, "ROLLBACK", NULL);
          g_prefix_error (error, "migrating to schema %d: ", next);
          return FALSE;
        }
      if (!qr_catalog_exec (self, "COMMIT", error))
        return FALSE;
    }
  self->schema_version = QR_CATALOG_SCHEMA_VERSION;
  return TRUE;
}
