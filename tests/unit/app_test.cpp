// App::Handle with MySQL and Redis unreachable (a closed port): everything decided before a
// dependency is needed, and a fast 503 problem+json with Retry-After when one is.
#include "workers/app.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <ctime>
#include <map>

#include "core/jwt.hpp"
#include "core/log.hpp"

namespace ticketing {
namespace {

constexpr char kSecret[] = "app-test-secret-0123456789";

Config DeadDependencies() {
  const std::map<std::string, std::string> env = {
      {"TICKETING_JWT_SECRET", kSecret},
      {"TICKETING_DB_HOST", "127.0.0.1"},
      {"TICKETING_DB_PORT", "1"},
      {"TICKETING_REDIS_HOST", "127.0.0.1"},
      {"TICKETING_REDIS_PORT", "1"},
      {"TICKETING_MAX_BODY_BYTES", "1024"},
  };
  return LoadConfig([&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

class AppTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { InitLog(LogLevel::kError, "unit-test"); }

  HttpResponse Handle(HttpRequest request) {
    if (request.request_id.empty()) request.request_id = "test-request";
    return app_.Handle(request);
  }

  static HttpRequest Get(std::string path, int64_t user = 0) {
    HttpRequest request;
    request.method = "GET";
    request.path = std::move(path);
    if (user > 0) request.authorization = Bearer(user);
    return request;
  }

  static HttpRequest Post(std::string path, std::string body, int64_t user = 0) {
    HttpRequest request = Get(std::move(path), user);
    request.method = "POST";
    request.content_type = "application/json";
    request.body = std::move(body);
    request.idempotency_key = "key-1";
    return request;
  }

  static std::string Bearer(int64_t user) {
    return "Bearer " + SignJwt(kSecret, user, static_cast<int64_t>(std::time(nullptr)) + 3600);
  }

  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [key, value] : r.headers) {
      if (key == name) return value;
    }
    return "";
  }

  // Checks the problem+json shape and returns the detail.
  static std::string ExpectProblem(const HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/problem+json");
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    EXPECT_FALSE(doc.HasParseError()) << r.body;
    if (doc.HasParseError() || !doc.IsObject()) return "";
    EXPECT_TRUE(doc.HasMember("type") && doc["type"].IsString());
    EXPECT_TRUE(doc.HasMember("title") && doc["title"].IsString());
    EXPECT_TRUE(doc.HasMember("status") && doc["status"].IsInt() &&
                doc["status"].GetInt() == status)
        << r.body;
    if (!doc.HasMember("detail") || !doc["detail"].IsString()) {
      ADD_FAILURE() << "no detail: " << r.body;
      return "";
    }
    return doc["detail"].GetString();
  }

  Config config_ = DeadDependencies();
  Metrics metrics_ = Metrics::CreateLocal();
  App app_{config_, metrics_};
};

TEST_F(AppTest, HealthNeedsNoDependency) {
  const HttpResponse r = Handle(Get("/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"status":"ok"})");
}

TEST_F(AppTest, UnknownRouteIs404) {
  ExpectProblem(Handle(Get("/nope")), 404);
  ExpectProblem(Handle(Get("/api/concerts")), 404);
  ExpectProblem(Handle(Post("/api/nothing", "{}")), 404);
}

TEST_F(AppTest, WrongMethodIs405WithAllow) {
  const HttpResponse r = Handle(Post("/health", "{}"));
  ExpectProblem(r, 405);
  EXPECT_EQ(Header(r, "Allow"), "GET");
  const HttpResponse confirm = Handle(Get("/api/reservations/confirm"));
  ExpectProblem(confirm, 405);
  EXPECT_EQ(Header(confirm, "Allow"), "POST");
  HttpRequest del = Get("/api/wallet/1/balance");
  del.method = "DELETE";
  const HttpResponse balance = Handle(del);
  ExpectProblem(balance, 405);
  EXPECT_EQ(Header(balance, "Allow"), "GET");
}

TEST_F(AppTest, BadPathIdIs400) {
  ExpectProblem(Handle(Get("/api/concerts/abc")), 400);
  ExpectProblem(Handle(Get("/api/concerts/0")), 400);
  ExpectProblem(Handle(Get("/api/wallet/-1/balance", 1)), 400);
}

TEST_F(AppTest, PostWithoutJsonContentTypeIs415) {
  for (const char* type : {"", "text/plain", "application/x-www-form-urlencoded",
                           "application/jsonp", "multipart/form-data"}) {
    HttpRequest request = Post("/api/reservations/confirm", R"({"reservationId":1})", 1);
    request.content_type = type;
    ExpectProblem(Handle(request), 415);
  }
}

TEST_F(AppTest, JsonWithParametersIsAccepted) {
  HttpRequest request = Post("/api/wallet/1/charge", "{not json", 1);
  request.content_type = "application/json; charset=utf-8";
  ExpectProblem(Handle(request), 400);  // past the 415 check, stopped at the body
}

TEST_F(AppTest, JsonContentTypeIsCaseInsensitive) {
  for (const char* type : {"Application/JSON", "application/json ; charset=utf-8"}) {
    HttpRequest request = Post("/api/wallet/1/charge", "{not json", 1);
    request.content_type = type;
    ExpectProblem(Handle(request), 400);
  }
}

TEST_F(AppTest, OversizeBodyIs413BeforeAnythingElse) {
  HttpRequest request = Post("/api/wallet/1/charge", "", 1);
  request.body_too_large = true;
  const std::string detail = ExpectProblem(Handle(request), 413);
  EXPECT_NE(detail.find("1024"), std::string::npos) << detail;
  HttpRequest unknown = Post("/nope", "");
  unknown.body_too_large = true;
  ExpectProblem(Handle(unknown), 413);
}

TEST_F(AppTest, EmptyPostBodyIs400) {
  ExpectProblem(Handle(Post("/api/wallet/1/charge", "", 1)), 400);
}

TEST_F(AppTest, MalformedJsonIs400) {
  for (const char* body : {"{", "[1]", "{\"amount\":}", "{\"amount\":\"5\"}", "{\"amount\":5.0}",
                           "{\"amount\":0}", "{\"amount\":10000001}", "{}"}) {
    ExpectProblem(Handle(Post("/api/wallet/1/charge", body, 1)), 400);
  }
  ExpectProblem(Handle(Post("/api/reservations/confirm", "{\"reservationId\":-1}", 1)), 400);
  ExpectProblem(
      Handle(Post("/api/reservations/temporary-assign", "{\"scheduleId\":1}", 1)), 400);
  std::string deep(50, '[');
  ExpectProblem(Handle(Post("/api/wallet/1/charge", "{\"a\":" + deep, 1)), 400);
}

TEST_F(AppTest, MissingOrBadBearerIs401) {
  ExpectProblem(Handle(Get("/api/wallet/1/balance")), 401);
  ExpectProblem(Handle(Post("/api/reservations/confirm", R"({"reservationId":1})")), 401);
  ExpectProblem(Handle(Get("/api/reservations/5")), 401);
  for (const std::string& auth :
       {std::string("Bearer"), std::string("Bearer "), std::string("Basic dXNlcjpwYXNz"),
        std::string("Bearer not.a.jwt"),
        "Bearer " + SignJwt("another-secret-0123456789", 1, std::time(nullptr) + 60),
        "Bearer " + SignJwt(kSecret, 1, std::time(nullptr) - 1)}) {
    HttpRequest request = Get("/api/wallet/1/balance");
    request.authorization = auth;
    ExpectProblem(Handle(request), 401);
  }
}

TEST_F(AppTest, AnotherUsersWalletIs403) {
  ExpectProblem(Handle(Get("/api/wallet/2/balance", 1)), 403);
  ExpectProblem(Handle(Post("/api/wallet/2/charge", R"({"amount":100})", 1)), 403);
}

TEST_F(AppTest, MoneyRoutesNeedAnIdempotencyKey) {
  HttpRequest request = Post("/api/wallet/1/charge", R"({"amount":100})", 1);
  request.idempotency_key.clear();
  EXPECT_NE(ExpectProblem(Handle(request), 400).find("Idempotency-Key"), std::string::npos);
  HttpRequest confirm = Post("/api/reservations/confirm", R"({"reservationId":1})", 1);
  confirm.idempotency_key = "has space";
  ExpectProblem(Handle(confirm), 400);
}

TEST_F(AppTest, DatabaseRoutesAreAFast503WithRetryAfter) {
  const std::vector<HttpRequest> requests = {
      Get("/api/concerts/1"),
      Get("/api/concerts/1/schedules/1/seats"),
      Get("/api/wallet/1/balance", 1),
      Post("/api/wallet/1/charge", R"({"amount":100})", 1),
      Post("/api/reservations/confirm", R"({"reservationId":1})", 1),
      Post("/api/reservations/temporary-assign", R"({"scheduleId":1,"seatId":1})", 1),
      Get("/api/reservations/1", 1),
      Get("/ready"),
  };
  for (const HttpRequest& request : requests) {
    const auto started = std::chrono::steady_clock::now();
    const HttpResponse r = Handle(request);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    const std::string detail = ExpectProblem(r, 503);
    EXPECT_EQ(Header(r, "Retry-After"), "1") << request.path;
    EXPECT_LT(elapsed, std::chrono::seconds(2)) << request.path;
    // Driver text (host, port, error codes) stays in the log.
    EXPECT_EQ(detail.find("127.0.0.1"), std::string::npos) << detail;
    EXPECT_EQ(detail.find("Can't connect"), std::string::npos) << detail;
  }
}

TEST_F(AppTest, MetricsAreServedWhileDependenciesAreDown) {
  Handle(Get("/health"));
  Handle(Get("/nope"));
  const HttpResponse r = Handle(Get("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(r.body.find("ticketing_http_requests_total{route=\"health\",status=\"200\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("ticketing_http_requests_total{route=\"unmatched\",status=\"404\"} 1"),
            std::string::npos);
  EXPECT_NE(r.body.find("ticketing_dependency_up{dependency=\"mysql\"} 0"), std::string::npos);
}

TEST_F(AppTest, EveryResponseIsCounted) {
  const size_t health = 0;
  ASSERT_EQ(app_.router().names()[health], "health");
  Handle(Get("/health"));
  Handle(Get("/health"));
  Handle(Post("/health", "{}"));
  EXPECT_EQ(metrics_.Requests(health, 200), 2u);
  EXPECT_EQ(metrics_.Requests(health, 405), 1u);
}

TEST_F(AppTest, NotFoundBodyIsValidUtf8ForAsciiPaths) {
  const HttpResponse r = Handle(Get("/a\"b\\c"));
  ExpectProblem(r, 404);
}

TEST_F(AppTest, NotFoundBodyIsValidUtf8ForAnyPath) {
  const HttpResponse r = Handle(Get("/\xff\xfe"));
  EXPECT_EQ(r.status, 404);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(r.body.c_str(), r.body.size());
  EXPECT_FALSE(doc.HasParseError()) << r.body;
}

}  // namespace
}  // namespace ticketing

namespace ticketing {
namespace {

TEST(DevLoginTest, OffByDefaultSoThePathDoesNotExist) {
  InitLog(LogLevel::kError, "unit-test");
  const Config config = DeadDependencies();
  ASSERT_EQ(config.dev_login, 0);
  Metrics metrics = Metrics::CreateLocal();
  App app(config, metrics);
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/dev/token";
  request.content_type = "application/json";
  request.body = R"({"userId":7})";
  EXPECT_EQ(app.Handle(request).status, 404);
}

TEST(DevLoginTest, WhenEnabledItValidatesAndNeedsTheDatabase) {
  InitLog(LogLevel::kError, "unit-test");
  Config config = DeadDependencies();
  config.dev_login = 1;
  Metrics metrics = Metrics::CreateLocal();
  App app(config, metrics);
  HttpRequest request;
  request.method = "POST";
  request.path = "/api/dev/token";
  request.content_type = "application/json";
  request.body = R"({"userId":"7"})";
  EXPECT_EQ(app.Handle(request).status, 400);
  request.body = R"({"userId":7})";
  EXPECT_EQ(app.Handle(request).status, 503);  // the user must exist: MySQL is down here
}

}  // namespace
}  // namespace ticketing
