/* qr-preferences.h: the Preferences window (Ctrl+,): the model Detect runs, its score threshold,
 * the device and CPU threads, viewer thresholds, thumbnail size, and the models folder. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

GtkWidget *qr_preferences_new (GtkWindow *parent,
                               GSettings *settings);

G_END_DECLS
