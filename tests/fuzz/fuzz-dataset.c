/* fuzz-dataset.c: one dataset reader, chosen at build time (FUZZ_FORMAT): COCO JSON, a COCO
 * captions file (beside a minimal instances file), a VOC XML file in a folder, a YOLO label file
 * in a folder with its names, or CSV. The readers only: nothing is imported into a catalog. */
#include "fuzz-common.h"
#include "dataset-private.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  QrImportOptions options = { 0 };
  g_autofree char *path = NULL;
  G_GNUC_UNUSED g_autofree char *extra = NULL;
  g_autoptr (Dataset) ds = ds_new ();
  GError *error = NULL;

  fuzz_quiet ();
#if FUZZ_FORMAT == 0
  options.format = QR_DATASET_COCO;
  options.path = path = fuzz_file ("instances.json", data, size);
#elif FUZZ_FORMAT == 1
  {
    static const char instances[] = "{\"images\": [{\"id\": 1, \"file_name\": \"a.jpg\", \"width\": 8, \"height\": 8}],"
                                    " \"annotations\": [], \"categories\": []}";
    options.format = QR_DATASET_COCO;
    options.path = path = fuzz_file ("instances.json", (const uint8_t *) instances, sizeof instances - 1);
    options.captions_path = extra = fuzz_file ("captions.json", data, size);
  }
#elif FUZZ_FORMAT == 2
  options.format = QR_DATASET_VOC;
  extra = fuzz_file ("voc/a.xml", data, size);
  options.path = path = g_build_filename (fuzz_folder (), "voc", NULL);
#elif FUZZ_FORMAT == 3
  options.format = QR_DATASET_YOLO;
  g_free (fuzz_file ("yolo/classes.txt", (const uint8_t *) "cat\ndog\n", 8));
  g_free (fuzz_file ("yolo/images/a.jpg", (const uint8_t *) "", 0));
  extra = fuzz_file ("yolo/labels/a.txt", data, size);
  options.path = path = g_build_filename (fuzz_folder (), "yolo", NULL);
#else
  options.format = QR_DATASET_CSV;
  options.path = path = fuzz_file ("labels.csv", data, size);
#endif
  if (!ds_format (options.format)->read (ds, &options, &error))
    g_clear_error (&error);
  g_clear_error (&error);
  return 0;
}
