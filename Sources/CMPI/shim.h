// OpenMPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, MPI_IN_PLACE, …) are macros over
// addresses of globals, which Swift cannot import: these inline functions return them.
#include <mpi.h>

static inline MPI_Comm loom_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype loom_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype loom_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype loom_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype loom_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op loom_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op loom_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op loom_mpi_min(void) { return MPI_MIN; }
static inline void *loom_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *loom_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler loom_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
