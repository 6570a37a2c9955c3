/* qr-application.h: the AdwApplication: settings, app-wide actions and windows. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define QR_TYPE_APPLICATION (qr_application_get_type ())
G_DECLARE_FINAL_TYPE (QrApplication, qr_application, QR, APPLICATION, AdwApplication)

/* Runs the desktop app: `quorum` (the last collection, or the bundled demo) or `quorum DIR`. */
int qr_application_main (int    argc,
                         char **argv);

G_END_DECLS
