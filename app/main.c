/* main.c: one executable for both faces of Quorum. A first argument that names a command runs
 * the headless CLI; anything else (nothing, or a folder) opens the desktop app when it is built. */
#include "quorum-config.h"
#include "qr-cli.h"

#include <locale.h>
#include <signal.h>
#if QUORUM_GUI
#include "qr-application.h"
#endif

int
main (int    argc,
      char **argv)
{
  setlocale (LC_ALL, "");
  /* Over a file-size limit (ulimit -f) a write fails with EFBIG and is reported and cleaned up like
     a full disk, instead of SIGXFSZ killing the process mid-write. */
  signal (SIGXFSZ, SIG_IGN);
  if (argc > 1 && qr_cli_is_command (argv[1]))
    return qr_cli_run (argc, argv);
#if QUORUM_GUI
  return qr_application_main (argc, argv);
#else
  if (argc > 1)
    fprintf (stderr, "quorum: unknown command '%s' (this build has no GUI; see 'quorum --help')\n",
             argv[1]);
  else
    qr_cli_print_usage (stderr);
  return QR_EXIT_USAGE;
#endif
}
