/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Feed every file of a corpus directory to a fuzz target, for `make check`:
   a crash or a sanitizer report fails the run.  Prints TAP.  */

#include <config.h>

#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

/* The corpus of replay-NAME is $FUZZ_CORPUS_DIR/NAME, or argv[1].  */
int
main (int argc, char **argv)
{
  const char *base = getenv ("FUZZ_CORPUS_DIR");
  const char *self = strrchr (argv[0], '/') ? strrchr (argv[0], '/') + 1 : argv[0];
  char dirbuf[4096];
  const char *dir = NULL;
  struct dirent **names;
  int n, i, t = 0;

  if (argc > 1)
    dir = argv[1];
  else if (base && strncmp (self, "replay-", 7) == 0)
    {
      if (snprintf (dirbuf, sizeof dirbuf, "%s/%s", base, self + 7) < (int)sizeof dirbuf)
        dir = dirbuf;
    }
  if (dir == NULL)
    {
      printf ("1..0 # SKIP no corpus directory given (set FUZZ_CORPUS_DIR)\n");
      return 77;
    }
  n = scandir (dir, &names, NULL, alphasort);
  if (n < 0)
    {
      printf ("1..0 # SKIP cannot read %s\n", dir);
      return 77;
    }
  for (i = 0; i < n; i++)
    {
      char path[4096];
      struct stat st;
      FILE *f;
      uint8_t *buf;

      if (snprintf (path, sizeof path, "%s/%s", dir, names[i]->d_name) >= (int)sizeof path
          || stat (path, &st) < 0 || !S_ISREG (st.st_mode))
        {
          free (names[i]);
          continue;
        }
      buf = malloc ((size_t)st.st_size + 1);
      f = fopen (path, "rb");
      if (buf == NULL || f == NULL || fread (buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        {
          printf ("not ok %d - read %s\n", ++t, names[i]->d_name);
          if (f)
            fclose (f);
          free (buf);
          free (names[i]);
          continue;
        }
      fclose (f);
      LLVMFuzzerTestOneInput (buf, (size_t)st.st_size);
      printf ("ok %d - %s\n", ++t, names[i]->d_name);
      free (buf);
      free (names[i]);
    }
  free (names);
  printf ("1..%d\n", t);
  return 0;
}
