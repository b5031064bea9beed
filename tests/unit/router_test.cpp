// Router: literal and {param} segments, 404, 405 with Allow, and which path ids are valid.
#include "workers/http/router.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "workers/app.hpp"

namespace ticketing {
namespace {

Handler Named(int tag) {
  return [tag](const HttpRequest&, const PathParams&, RequestContext&) {
    return HttpResponse::Json(200, std::to_string(tag));
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/health", "health", Named(0));
    router_.Add("GET", "/api/concerts/{concertId}", "concert", Named(1));
    router_.Add("GET", "/api/concerts/{concertId}/schedules/{scheduleId}/seats", "seats",
                Named(2));
    router_.Add("GET", "/api/items/{itemId}", "item_get", Named(3));
    router_.Add("PUT", "/api/items/{itemId}", "item_put", Named(4));
    router_.Add("DELETE", "/api/items/{itemId}", "item_delete", Named(5));
    router_.Add("GET", "/api/items/search", "item_search", Named(6));
    router_.Add("POST", "/api/reservations/confirm", "confirm", Named(7));
  }

  // The tag of the handler a match points to (the handler is called with dummies).
  static int Tag(const RouteMatch& match) {
    HttpRequest request;
    RequestContext context;
    return std::stoi((*match.handler)(request, match.params, context).body);
  }

  int ExpectBadRequest(std::string_view method, std::string_view path) {
    try {
      router_.Match(method, path);
    } catch (const ApiError& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadRequest) << path;
      return HttpStatus(e.code());
    }
    ADD_FAILURE() << method << " " << path << " did not throw";
    return 0;
  }

  Router router_;
};

TEST_F(RouterTest, LiteralRouteMatches) {
  const RouteMatch m = router_.Match("GET", "/health");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(Tag(m), 0);
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(router_.names()[m.route], "health");
}

TEST_F(RouterTest, ParamsAreParsedInPatternOrder) {
  const RouteMatch m = router_.Match("GET", "/api/concerts/12/schedules/345/seats");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(Tag(m), 2);
  EXPECT_EQ(m.params, (PathParams{12, 345}));
  EXPECT_EQ(router_.names()[m.route], "seats");
}

TEST_F(RouterTest, LiteralSegmentWinsOverParamRegardlessOfOrder) {
  // "search" is not an id, so the {itemId} routes do not take it; the literal route does.
  const RouteMatch m = router_.Match("GET", "/api/items/search");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(Tag(m), 6);
  const RouteMatch by_id = router_.Match("GET", "/api/items/42");
  ASSERT_EQ(by_id.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(Tag(by_id), 3);
  EXPECT_EQ(by_id.params, PathParams{42});
}

TEST_F(RouterTest, UnknownPathsAreNotFound) {
  for (const char* path : {"/", "", "/nope", "/api", "/api/concerts", "/api/concerts/1/extra",
                           "/api/concerts/1/schedules/2", "/HEALTH", "/api/reservations"}) {
    const RouteMatch m = router_.Match("GET", path);
    EXPECT_EQ(m.kind, RouteMatch::Kind::kNotFound) << path;
    EXPECT_EQ(m.route, router_.unmatched_index()) << path;
    EXPECT_EQ(m.handler, nullptr);
  }
  EXPECT_EQ(router_.names().back(), "unmatched");
  EXPECT_EQ(router_.names().size(), router_.unmatched_index() + 1);
}

TEST_F(RouterTest, WrongMethodIsMethodNotAllowedWithAllow) {
  const RouteMatch m = router_.Match("POST", "/health");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(router_.names()[m.route], "health");

  const RouteMatch confirm = router_.Match("GET", "/api/reservations/confirm");
  EXPECT_EQ(confirm.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(confirm.allow, "POST");
}

TEST_F(RouterTest, AllowListsEveryMethodOfThePath) {
  const RouteMatch m = router_.Match("POST", "/api/items/7");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, PUT, DELETE");
  // The literal path only has GET.
  const RouteMatch search = router_.Match("DELETE", "/api/items/search");
  ASSERT_EQ(search.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(search.allow, "GET");
}

TEST_F(RouterTest, MethodsAreCaseSensitive) {
  EXPECT_EQ(router_.Match("get", "/health").kind, RouteMatch::Kind::kMethodNotAllowed);
}

TEST_F(RouterTest, TrailingAndRepeatedSlashesAreIgnored) {
  for (const char* path : {"/health/", "//health", "/health//"}) {
    const RouteMatch m = router_.Match("GET", path);
    EXPECT_EQ(m.kind, RouteMatch::Kind::kFound) << path;
  }
  const RouteMatch m = router_.Match("GET", "/api/concerts/5/");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params, PathParams{5});
}

TEST_F(RouterTest, IdsMustBePositiveDecimalInt64) {
  for (const char* path :
       {"/api/concerts/abc", "/api/concerts/0", "/api/concerts/-1", "/api/concerts/+5",
        "/api/concerts/007", "/api/concerts/01", "/api/concerts/1.5", "/api/concerts/1e3",
        "/api/concerts/0x10", "/api/concerts/%31", "/api/concerts/ 1", "/api/concerts/1 ",
        "/api/concerts/9223372036854775808", "/api/concerts/99999999999999999999",
        "/api/concerts/18446744073709551616", "/api/concerts/-9223372036854775808"}) {
    EXPECT_EQ(ExpectBadRequest("GET", path), 400) << path;
  }
}

TEST_F(RouterTest, BadIdDetailNamesTheParameter) {
  try {
    router_.Match("GET", "/api/concerts/1/schedules/x/seats");
    FAIL() << "no ApiError";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadRequest);
    EXPECT_NE(e.detail().find("scheduleId"), std::string::npos) << e.detail();
  }
}

TEST_F(RouterTest, LargestIdIsAccepted) {
  const RouteMatch m = router_.Match("GET", "/api/concerts/9223372036854775807");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params, PathParams{INT64_MAX});
}

TEST_F(RouterTest, MethodNotAllowedOutranksBadParam) {
  // A literal route of the right shape exists for another method: that is a 405, not a 400.
  const RouteMatch m = router_.Match("PUT", "/api/items/search");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET");
}

TEST(SplitPathTest, DropsEmptySegments) {
  EXPECT_EQ(SplitPath(""), std::vector<std::string_view>{});
  EXPECT_EQ(SplitPath("/"), std::vector<std::string_view>{});
  EXPECT_EQ(SplitPath("/a/b/"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(SplitPath("a//b"), (std::vector<std::string_view>{"a", "b"}));
}

}  // namespace
}  // namespace ticketing
