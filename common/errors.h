/* errors.h - the error codes every lsys_ function returns (0 is success). */
#ifndef LSYS_ERRORS_H
#define LSYS_ERRORS_H

enum {
  LSYS_OK = 0,
  LSYS_ENOMEM,     /* allocation failed */
  LSYS_EINVAL,     /* invalid argument or input */
  LSYS_EIO,        /* file or socket I/O failed */
  LSYS_ETIMEDOUT,  /* a bounded wait ran out */
  LSYS_EFULL,      /* a bounded buffer is full */
  LSYS_ECONN,      /* connection failed or was lost */
  LSYS_EPROTO,     /* the peer broke the protocol (bad frame, malformed message) */
  LSYS_ECONFIG,    /* configuration is invalid */
  LSYS_ECLOSED,    /* the object is shutting down */
};

/* lsys_strerror returns a static description of code. */
const char *lsys_strerror(int code);

#endif
