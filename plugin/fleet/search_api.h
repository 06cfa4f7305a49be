// The AWS IoT control-plane routes of fleet search (docs/fleet.md#search),
// shaped as AWS answers them so that `aws iot search-index`, `aws iot
// get-statistics` and boto3's iot client work with --endpoint-url:
//
//   POST /indices/search       SearchIndex
//   POST /indices/statistics   GetStatistics
//   GET  /indices              ListIndices
//   GET  /indices/{name}       DescribeIndex
//   POST /indices/buckets, /indices/cardinality, /indices/percentiles:
//        400 InvalidRequestException (not supported)
//
// Signed as "execute-api" like every AWS IoT control-plane call. Errors
// have the control-plane shape (rest::control_plane_error): 400
// InvalidQueryException (with the position of the problem),
// InvalidRequestException, InvalidAggregationException, 404
// ResourceNotFoundException for an index other than AWS_Things, 429
// ThrottlingException when too many searches run, 500 InternalFailureException.
#pragma once

#include "plugin/fleet/search.h"
#include "plugin/rest/api.h"
#include "plugin/runtime/pipeline.h"

namespace shadow::fleet {

class SearchApi final : public rest::RestExtension {
 public:
  static constexpr const char* kIndexName = "AWS_Things";
  static constexpr size_t kDefaultMaxResults = 100;
  static constexpr size_t kMaxMaxResults = 500;  // botocore's limit for maxResults

  // Both must outlive the API.
  SearchApi(FleetSearch& search, runtime::Pipeline& pipeline) : search_(search), pipeline_(pipeline) {}

  // Whether `path` is one of these routes; also used to answer them with a
  // clear error where the feature does not run (rest::UnavailableRoutes).
  static bool serves_path(std::string_view path);
  bool serves(std::string_view path) const override { return serves_path(path); }
  rest::HttpResponse handle(const rest::HttpRequest& request, const rest::RequestContext& context) override;

 private:
  rest::HttpResponse search_index(std::string_view body);
  rest::HttpResponse get_statistics(std::string_view body);
  rest::HttpResponse describe_index(std::string_view name);

  FleetSearch& search_;
  runtime::Pipeline& pipeline_;
};

}  // namespace shadow::fleet
