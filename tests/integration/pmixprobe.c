/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pmixprobe: a PMIx client, as an MPI library is one: it connects to the
   PMIx server that Slurm's mpi/pmix runs for the step, reads the job's
   size, meets the other ranks in a fence and prints "pmix rank R of N".
   Built by slurm-spank.root.bats against the host's libpmix, and run in
   a container that binds the host's libraries.  */
#include <pmix.h>
#include <stdio.h>

int
main (void)
{
  pmix_proc_t me, all;
  pmix_value_t *v = NULL;
  pmix_status_t rc;
  unsigned int size;

  rc = PMIx_Init (&me, NULL, 0);
  if (rc != PMIX_SUCCESS)
    {
      fprintf (stderr, "pmixprobe: PMIx_Init: %s\n", PMIx_Error_string (rc));
      return 1;
    }
  PMIX_LOAD_PROCID (&all, me.nspace, PMIX_RANK_WILDCARD);
  rc = PMIx_Get (&all, PMIX_JOB_SIZE, NULL, 0, &v);
  if (rc != PMIX_SUCCESS || v == NULL)
    {
      fprintf (stderr, "pmixprobe: PMIx_Get(job size): %s\n", PMIx_Error_string (rc));
      return 1;
    }
  size = v->data.uint32;
  rc = PMIx_Fence (NULL, 0, NULL, 0);
  if (rc != PMIX_SUCCESS)
    {
      fprintf (stderr, "pmixprobe: PMIx_Fence: %s\n", PMIx_Error_string (rc));
      return 1;
    }
  printf ("pmix rank %u of %u\n", me.rank, size);
  PMIx_Finalize (NULL, 0);
  return 0;
}
