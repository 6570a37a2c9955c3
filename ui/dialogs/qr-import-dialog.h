/* qr-import-dialog.h: the Import Labels dialog (the app's face of `quorum import`): a format,
 * the dataset's file or folder, a class names file (YOLO) and a captions file, optional; the
 * import runs on a thread with a progress bar and Cancel, and the dialog shows what was imported,
 * or the error (which names the file and the line) in its own words. "imported" is emitted after
 * an import that stored something, for the window to read the collection again. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QR_TYPE_IMPORT_DIALOG (qr_import_dialog_get_type ())
G_DECLARE_FINAL_TYPE (QrImportDialog, qr_import_dialog, QR, IMPORT_DIALOG, AdwWindow)

QrImportDialog *qr_import_dialog_new          (GtkWindow      *parent,
                                               const char     *root,
                                               const char     *db_path);
/* format: "coco", "yolo", "voc" or "csv"; path: the dataset's file or folder. */
void            qr_import_dialog_set_dataset  (QrImportDialog *self,
                                               const char     *format,
                                               const char     *path);
/* mode: "skip", "replace" or "add" (qr_import_mode_from_string). */
void            qr_import_dialog_set_mode     (QrImportDialog *self,
                                               const char     *mode);
void            qr_import_dialog_set_captions (QrImportDialog *self,
                                               const char     *path);
/* What the Import button does; for tests and actions. */
void            qr_import_dialog_start        (QrImportDialog *self);
gboolean        qr_import_dialog_is_busy      (QrImportDialog *self);
/* The words under the form: the last import's summary or error, "" before the first. */
const char     *qr_import_dialog_get_message  (QrImportDialog *self);

G_END_DECLS
