#include "shadow_core/errors.h"

namespace shadow {

const char* rest_error_type(int code) {
  switch (code) {
    case 400: return "InvalidRequestException";
    case 401: return "UnauthorizedException";
    case 403: return "ForbiddenException";
    case 404: return "ResourceNotFoundException";
    case 405: return "MethodNotAllowedException";
    case 409: return "ConflictException";
    case 413: return "RequestEntityTooLargeException";
    case 415: return "UnsupportedDocumentEncodingException";
    case 429: return "ThrottlingException";
    case 503: return "ServiceUnavailableException";
    default: return "InternalFailureException";
  }
}

}  // namespace shadow
