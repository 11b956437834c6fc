// IdMap and IdTable against std::unordered_map as the reference model.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "id_map.hpp"

namespace gpu_alloc::replay {
namespace {

TEST(IdMap, InsertFindTakeErase) {
    IdMap<std::uint64_t> map;
    EXPECT_EQ(map.size(), 0u);
    EXPECT_TRUE(map.try_emplace(5, 50u));
    EXPECT_FALSE(map.try_emplace(5, 51u));
    ASSERT_NE(map.find(5), nullptr);
    EXPECT_EQ(*map.find(5), 50u);
    EXPECT_EQ(map.find(6), nullptr);
    EXPECT_EQ(map.take(5), std::optional<std::uint64_t>(50u));
    EXPECT_EQ(map.take(5), std::nullopt);
    EXPECT_FALSE(map.erase(5));
    EXPECT_EQ(map.size(), 0u);
}

TEST(IdMap, TheEmptyMarkerKeyIsAnOrdinaryKey) {
    IdMap<int> map;
    EXPECT_TRUE(map.try_emplace(UINT64_MAX, 1));
    EXPECT_FALSE(map.try_emplace(UINT64_MAX, 2));
    EXPECT_TRUE(map.try_emplace(0, 3));
    EXPECT_EQ(map.size(), 2u);
    ASSERT_NE(map.find(UINT64_MAX), nullptr);
    EXPECT_EQ(*map.find(UINT64_MAX), 1);
    int seen = 0;
    map.for_each([&](std::uint64_t key, int& v) { seen += (key == UINT64_MAX ? 10 : 0) + v; });
    EXPECT_EQ(seen, 14);
    EXPECT_EQ(map.take(UINT64_MAX), std::optional<int>(1));
    EXPECT_TRUE(map.erase(0));
    EXPECT_EQ(map.size(), 0u);
}

TEST(IdMap, HoldsMoveOnlyValuesAndDestroysThem) {
    auto counter = std::make_shared<int>(0);
    {
        IdMap<std::unique_ptr<std::shared_ptr<int>>> map(2);
        for (std::uint64_t i = 0; i < 100; ++i)
            ASSERT_TRUE(map.try_emplace(i * 7919, std::make_unique<std::shared_ptr<int>>(counter)));
        EXPECT_EQ(counter.use_count(), 101);
        for (std::uint64_t i = 0; i < 100; i += 2) EXPECT_TRUE(map.take(i * 7919).has_value());
        EXPECT_EQ(counter.use_count(), 51);
    }
    EXPECT_EQ(counter.use_count(), 1);
}

// Random inserts and removals, dense and sparse keys, checked against the
// reference after each step; the backward-shift deletion is where a bug would hide.
TEST(IdMap, MatchesAReferenceMapUnderRandomChurn) {
    for (const std::uint64_t key_space : {64ull, 5000ull, ~0ull}) {
        std::mt19937_64 rng(key_space);
        IdMap<std::uint64_t> map;
        std::unordered_map<std::uint64_t, std::uint64_t> reference;
        std::vector<std::uint64_t> keys;
        for (int step = 0; step < 50000; ++step) {
            if (keys.empty() || rng() % 100 < 55) {
                const std::uint64_t key = key_space == ~0ull ? rng() : rng() % key_space;
                const bool inserted = map.try_emplace(key, key * 3 + 1);
                ASSERT_EQ(inserted, reference.emplace(key, key * 3 + 1).second);
                if (inserted) keys.push_back(key);
            } else {
                const std::size_t i = rng() % keys.size();
                const std::uint64_t key = keys[i];
                keys[i] = keys.back();
                keys.pop_back();
                ASSERT_EQ(map.take(key), std::optional<std::uint64_t>(key * 3 + 1));
                reference.erase(key);
            }
            ASSERT_EQ(map.size(), reference.size());
            if (step % 997 == 0) {
                for (const auto& [k, v] : reference) {
                    ASSERT_NE(map.find(k), nullptr) << k;
                    ASSERT_EQ(*map.find(k), v);
                }
            }
        }
    }
}

TEST(IdTable, ReusesSlotsAndMatchesAReferenceMap) {
    std::mt19937_64 rng(7);
    IdTable<std::unique_ptr<std::uint64_t>> table(16);
    std::unordered_map<std::uint64_t, std::uint64_t> reference;
    std::vector<std::uint64_t> keys;
    std::uint64_t next = 1;
    for (int step = 0; step < 30000; ++step) {
        if (keys.empty() || rng() % 2 == 0) {
            const std::uint64_t id = next++;
            ASSERT_TRUE(table.try_emplace(id, std::make_unique<std::uint64_t>(id * 5)));
            ASSERT_FALSE(table.try_emplace(id, std::make_unique<std::uint64_t>(0)));
            reference.emplace(id, id * 5);
            keys.push_back(id);
        } else {
            const std::size_t i = rng() % keys.size();
            const std::uint64_t id = keys[i];
            keys[i] = keys.back();
            keys.pop_back();
            auto value = table.take(id);
            ASSERT_TRUE(value.has_value());
            ASSERT_EQ(**value, reference.at(id));
            reference.erase(id);
            EXPECT_FALSE(table.take(id).has_value());
        }
        ASSERT_EQ(table.size(), reference.size());
    }
    std::size_t visited = 0;
    table.for_each([&](std::uint64_t id, std::unique_ptr<std::uint64_t>& v) {
        ++visited;
        EXPECT_EQ(*v, reference.at(id));
    });
    EXPECT_EQ(visited, reference.size());
    table.clear();
    EXPECT_EQ(table.size(), 0u);
}

TEST(IdTable, PrefetchesAndLargeTablesWork) {
    // 300,000 entries: the tables pass 2 MiB and take the huge-page path.
    IdTable<std::uint64_t> table(300000);
    for (std::uint64_t id = 0; id < 300000; ++id) {
        table.prefetch_index(id);
        table.prefetch_value(id);  // absent: a no-op
        ASSERT_TRUE(table.try_emplace(id, id + 7));
    }
    for (std::uint64_t id = 0; id < 300000; id += 3) {
        table.prefetch_index(id);
        table.prefetch_value(id);
        ASSERT_EQ(table.take(id), std::optional<std::uint64_t>(id + 7));
    }
    EXPECT_EQ(table.size(), 200000u);
    table.prefetch_value(UINT64_MAX);
}

}  // namespace
}  // namespace gpu_alloc::replay
