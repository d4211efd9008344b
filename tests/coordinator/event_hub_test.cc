#include "coordinator/event_hub.h"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace nmoe::coordinator {
namespace {

TEST(EventHubTest, NotifyReachesOnlyThatJobsSubscribers) {
  EventHub hub;
  std::map<std::string, int> calls;
  hub.Subscribe("job-a", [&] { ++calls["a1"]; });
  hub.Subscribe("job-a", [&] { ++calls["a2"]; });
  hub.Subscribe("job-b", [&] { ++calls["b"]; });
  hub.Subscribe("job-aa", [&] { ++calls["aa"]; });  // an id with job-a as a prefix
  EXPECT_EQ(hub.subscriber_count(), 4u);

  hub.Notify("job-a");
  EXPECT_EQ(calls, (std::map<std::string, int>{{"a1", 1}, {"a2", 1}}));
  hub.Notify("job-a");
  hub.Notify("job-b");
  EXPECT_EQ(calls, (std::map<std::string, int>{{"a1", 2}, {"a2", 2}, {"b", 1}}));
  hub.Notify("job-unknown");
  hub.Notify("");
  EXPECT_EQ(calls, (std::map<std::string, int>{{"a1", 2}, {"a2", 2}, {"b", 1}}));
}

TEST(EventHubTest, HandlesAreDistinct) {
  EventHub hub;
  std::set<uint64_t> handles;
  for (int i = 0; i < 100; ++i) handles.insert(hub.Subscribe(i % 2 ? "job-a" : "job-b", [] {}));
  EXPECT_EQ(handles.size(), 100u);
  EXPECT_EQ(hub.subscriber_count(), 100u);
}

TEST(EventHubTest, UnsubscribeStopsCallbacksOfThatSubscriberOnly) {
  EventHub hub;
  int first = 0, second = 0, other_job = 0;
  const uint64_t h1 = hub.Subscribe("job-a", [&] { ++first; });
  const uint64_t h2 = hub.Subscribe("job-a", [&] { ++second; });
  hub.Subscribe("job-b", [&] { ++other_job; });
  hub.Unsubscribe(h1);
  EXPECT_EQ(hub.subscriber_count(), 2u);
  hub.Notify("job-a");
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);

  // Unknown and repeated handles are ignored.
  hub.Unsubscribe(h1);
  hub.Unsubscribe(987654);
  EXPECT_EQ(hub.subscriber_count(), 2u);

  hub.Unsubscribe(h2);
  hub.Notify("job-a");
  hub.NotifyAll();
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(other_job, 1);  // only from NotifyAll
  EXPECT_EQ(hub.subscriber_count(), 1u);
}

TEST(EventHubTest, ResubscribingGetsANewHandle) {
  EventHub hub;
  int calls = 0;
  const uint64_t h1 = hub.Subscribe("job-a", [&] { ++calls; });
  hub.Unsubscribe(h1);
  const uint64_t h2 = hub.Subscribe("job-a", [&] { ++calls; });
  EXPECT_NE(h1, h2);
  hub.Unsubscribe(h1);  // the stale handle does not remove the new subscription
  hub.Notify("job-a");
  EXPECT_EQ(calls, 1);
}

TEST(EventHubTest, NotifyAllWakesEverySubscriberOnce) {
  EventHub hub;
  std::map<std::string, int> calls;
  for (const char* name : {"a", "b", "c"}) {
    hub.Subscribe(std::string("job-") + name, [&calls, name] { ++calls[name]; });
  }
  hub.Subscribe("job-a", [&] { ++calls["a-second"]; });
  hub.NotifyAll();
  EXPECT_EQ(calls, (std::map<std::string, int>{{"a", 1}, {"a-second", 1}, {"b", 1}, {"c", 1}}));
}

TEST(EventHubTest, NoCallbackRunsAfterUnsubscribeReturns) {
  EventHub hub;
  std::atomic<bool> unsubscribed{false};
  std::atomic<int> late_calls{0};
  std::atomic<int> calls{0};
  const uint64_t handle = hub.Subscribe("job-a", [&] {
    if (unsubscribed.load()) ++late_calls;
    ++calls;
  });
  std::atomic<bool> stop{false};
  std::thread notifier([&] {
    while (!stop.load()) {
      hub.Notify("job-a");
      std::this_thread::yield();  // let Unsubscribe take the lock
    }
  });
  while (calls.load() < 100) std::this_thread::yield();
  hub.Unsubscribe(handle);
  unsubscribed = true;
  // Keep notifying for a while: nothing may reach the old callback now.
  const int calls_at_unsubscribe = calls.load();
  for (int i = 0; i < 1000; ++i) std::this_thread::yield();
  stop = true;
  notifier.join();
  EXPECT_EQ(late_calls.load(), 0);
  EXPECT_EQ(calls.load(), calls_at_unsubscribe);
  EXPECT_EQ(hub.subscriber_count(), 0u);
}

}  // namespace
}  // namespace nmoe::coordinator
