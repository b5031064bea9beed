// The consumer's parsing of payment events, including the commit time it measures latency from.
#include "outbox/consumer/payment_event.hpp"

#include <gtest/gtest.h>

namespace ticketing {
namespace {

TEST(PaymentEventTest, ParsesThePaymentCompletedShapeWithItsCommitTime) {
  std::string error;
  const auto event = ParsePaymentEvent(
      R"({"eventId":"b4a87bc5-e7b2-11f1-9da1-02fc00000001","type":"PaymentCompleted",)"
      R"("occurredAt":"2026-11-24T02:56:54.632000Z","userId":1,"amount":50000,)"
      R"("paymentId":1,"reservationId":1,"scheduleId":3,"seatId":5,"balance":50000})",
      error);
  ASSERT_TRUE(event) << error;
  EXPECT_EQ(event->type, "PaymentCompleted");
  EXPECT_EQ(event->user_id, 1);
  EXPECT_EQ(event->amount, 50000);
  EXPECT_EQ(event->schedule_id, 3);
  EXPECT_EQ(event->occurred_at_ms, 1795489014632);
}

TEST(PaymentEventTest, RejectsWhatIsNotAPaymentEvent) {
  std::string error;
  EXPECT_FALSE(ParsePaymentEvent("not json", error));
  EXPECT_FALSE(ParsePaymentEvent(R"({"eventId":"x","type":"WalletCharged"})", error));
  EXPECT_FALSE(ParsePaymentEvent(
      R"({"eventId":"b4a87bc5-e7b2-11f1-9da1-02fc00000001","type":"PaymentCompleted",)"
      R"("userId":1,"amount":5})",
      error));  // no scheduleId
}

TEST(PaymentEventTest, OccurredAtParsing) {
  EXPECT_EQ(ParseOccurredAtMs("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseOccurredAtMs("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseOccurredAtMs("1970-01-01T00:00:01.250Z"), 1250);
  EXPECT_EQ(ParseOccurredAtMs("2026-11-24 02:56:54.632Z"), 0);
  EXPECT_EQ(ParseOccurredAtMs("2026-11-24T02:56:54.632+09:00"), 0);
  EXPECT_EQ(ParseOccurredAtMs("1970-01-01T00:00:01.2x5Z"), 0);
  EXPECT_EQ(ParseOccurredAtMs(""), 0);
}

}  // namespace
}  // namespace ticketing
